"""A large registry file uploaded through the web is never whole in memory.

Django spools an upload over FILE_UPLOAD_MAX_MEMORY_SIZE to disk; the one upload
pipeline (core.uploads) takes it from there in pieces (size, type and sha256 from the
file, held as UploadChunks), the registry's preview checks it part by part through the
streamed reader (people.import_stream), and its commit writes it back to a temporary
file and imports it part by part. The whole-file functions are made to fail here, so a
path that read the file whole could not pass.
"""

from __future__ import annotations

import hashlib
import tracemalloc
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.urls import reverse
from django.utils import translation

from fangkong.core import uploads
from fangkong.core.models import Upload, UploadChunk
from fangkong.people import import_jobs
from fangkong.people.models import ImportJob, ImportStatus, Person
from tests.test_people_import import A1M1, HEADER, csv_bytes, family

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _big_csv(households: int, bad_row: bool = True) -> bytes:
    rows = [HEADER]
    for i in range(households):
        rows += family(f"H{i:03d}", A1M1, 1 + 3 * i)
    if bad_row:
        rows[5][1] = "1381234567"  # not an ID number: one error, its household dropped
    return csv_bytes(rows)


@pytest.fixture
def whole_reads_fail(monkeypatch):
    """Every way of taking or reading the file whole raises."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the large upload was read whole")

    monkeypatch.setattr(uploads, "read_table", refuse)
    monkeypatch.setattr(uploads, "receive_bytes", refuse)
    monkeypatch.setattr(TemporaryUploadedFile, "read", refuse)
    streamed: list[Any] = []
    real = import_jobs.import_people_stream  # type: ignore[attr-defined]

    def spy(path: Any, *args: Any, **kwargs: Any) -> Any:
        streamed.append((path, kwargs.get("dry_run", False)))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(import_jobs, "import_people_stream", spy)
    return streamed


def test_a_spooled_registry_upload_is_held_in_pieces_and_imported_streamed(
    world, login, settings, monkeypatch, whole_reads_fail
):
    settings.FANGKONG_IMPORT_SYNC = True
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 4096  # Django spools anything larger to disk
    monkeypatch.setattr(uploads, "CHUNK_BYTES", 4096)
    data = _big_csv(60)
    assert len(data) > 3 * 4096
    client = login("cadre_a")
    client.cookies["django_language"] = "en"
    response = client.post(
        reverse("people:import_upload"),
        {"file": SimpleUploadedFile("big.csv", data), "source": ""},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    upload = Upload.objects.get()
    assert upload.chunked and bytes(upload.data) == b"" and upload.size == len(data)
    pieces = list(UploadChunk.objects.filter(upload=upload).order_by("seq"))
    assert len(pieces) == -(-len(data) // 4096)
    assert b"".join(bytes(p.data) for p in pieces) == data
    assert upload.sha256 == hashlib.sha256(data).hexdigest()
    # Checked part by part from a file on disk, not read whole.
    assert whole_reads_fail and whole_reads_fail[0][1] is True
    job = ImportJob.objects.get()
    assert job.rows_total == 180 and job.error_count == 1
    page = client.get(response["Location"]).content.decode()
    assert "fk-import-errors" in page and "1381234567" not in page
    # The preview's first rows come from the head of the file, masked.
    assert "张*" in page or "*伟" in page
    response = client.post(reverse("people:import_commit", args=[job.pk]), {"mode": "valid_only"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.message
    assert Person.objects.count() == 177  # the household with the bad row left out whole
    assert [dry for _path, dry in whole_reads_fail] == [True, False]
    assert not Upload.objects.exists() and not UploadChunk.objects.exists()


def test_a_large_file_with_uncertain_matches_is_refused_with_a_reason(
    world, login, settings, monkeypatch
):
    """The streamed check keeps no list of uncertain matches to decide row by row: such
    a file is blocked, and the page says why, instead of importing it unasked."""
    settings.FANGKONG_IMPORT_SYNC = True
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 4096
    monkeypatch.setattr(uploads, "CHUNK_BYTES", 4096)
    from fangkong.people.import_stream import StreamOutcome

    real = import_jobs.import_people_stream  # type: ignore[attr-defined]

    def with_confirmations(*args: Any, **kwargs: Any) -> StreamOutcome:
        out = real(*args, **kwargs)
        out.confirmations = 2
        return out

    monkeypatch.setattr(import_jobs, "import_people_stream", with_confirmations)
    client = login("cadre_a")
    client.cookies["django_language"] = "en"
    data = _big_csv(40, bad_row=False)
    client.post(reverse("people:import_upload"), {"file": SimpleUploadedFile("u.csv", data)})
    job = ImportJob.objects.get()
    assert job.error_count == 1 and "not confirmed row by row" in job.errors[0]["message"]
    response = client.post(reverse("people:import_commit", args=[job.pk]), {"mode": "all"})
    assert response.status_code == 400 and Person.objects.count() == 0


def test_receiving_and_holding_a_large_file_takes_memory_of_a_piece(tmp_path, monkeypatch, world):
    """tracemalloc's peak while an 8 MB file is hashed, sniffed and held: a few pieces
    (128 KB here; the database driver copies each on its way), not the file."""
    piece = 128 * 1024
    monkeypatch.setattr(uploads, "CHUNK_BYTES", piece)
    path = tmp_path / "big.csv"
    line = ",".join(HEADER).encode() + b"\n"
    with path.open("wb") as f:
        f.write(line)
        row = "张伟,110105198001010011,13900000001,H1,g,户主,幸福路1号,\n".encode()
        f.write(row * (8 * 2**20 // len(row)))
    size = path.stat().st_size
    kind = import_jobs.PEOPLE_UPLOAD
    tracemalloc.start()
    try:
        received = uploads.receive_spooled(path, "big.csv", kind)
        upload = uploads.stage(owner=world.users["cadre_a"], received=received)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received.streamed and upload.chunked and upload.size == size
    assert peak < min(16 * piece, size / 4), f"peak {peak} bytes for a {size}-byte file"
    with uploads.held_file(upload) as back:
        digest = hashlib.sha256(back.read_bytes()).hexdigest()
    assert digest == upload.sha256
    # A whole-table read of it is refused rather than done.
    with pytest.raises(ValueError, match="held in pieces"):
        uploads.read(upload, kind)
