"""The one upload-and-import pipeline: every spreadsheet import gets its file here.

    receive  the file off the request (or disk): size refused before it is read, type
             sniffed from its bytes, sha256 taken
    read     into a `Table` within the limits (`tabular.Limits`: rows, columns, cell
             length, unpacked size), checked while reading, so a hostile file is refused
             before it is held in memory; the kind says whether a title row may sit
             above the header and whether data rows are required
    preview  what a page shows of it: the first rows and columns, cells cut short,
             ID numbers and phones masked
    stage    hold it (`Upload`, in the database: no shared disk between web processes)
             between the preview and the confirmation
    stream   a kind that reads streamed (`UploadKind.streams`, the registry) takes a
             file Django spooled to disk (over FILE_UPLOAD_MAX_MEMORY_SIZE) without ever
             reading it whole: hashed and sniffed in pieces, held as `UploadChunk`s, and
             handed to its reader as a file (`held_file`) that `tabular_stream` reads
             row by row
    commit   read the held file again the same way, apply it, and drop it in the same
             transaction
    purge    uploads nobody confirmed, by the periodic job `core.purge_uploads`

Each import keeps its own planning, validation and writing; only the file's way in is
shared, so the limits and the encodings are the same on every path.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.masking import mask_personal
from fangkong.core.models import Upload, UploadChunk
from fangkong.core.tabular import Limits, Table, TableError, check_size, read_table, sniff_kind

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.core.files.uploadedfile import UploadedFile

T = TypeVar("T")


@dataclass(frozen=True)
class UploadKind:
    """One kind of import: its name on the held `Upload`, and how its files are read."""

    name: str
    # A merged title row ("XX村人口登记表") may sit above the header.
    skip_title: bool = True
    # A file with a header and no rows under it is an error, not an empty import.
    require_rows: bool = True
    # Its importer reads a large file row by row from disk (`held_file`); `read`, which
    # makes a whole table, refuses such a file.
    streams: bool = False


# The piece a large file is hashed, held and written back in: the most of it in memory.
CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Received:
    """A file taken in: within the size limit and of a type that can be read."""

    kind: UploadKind
    filename: str
    data: bytes
    sha256: str
    # A large file of a streaming kind: on disk (Django's spooled copy), `data` empty.
    path: Path | None = None
    size: int = 0

    @property
    def streamed(self) -> bool:
        return self.path is not None


def receive(file: UploadedFile[bytes], kind: UploadKind) -> Received:
    """Take a file from a form (Django's UploadedFile). Its size is checked before it is
    read: an oversized upload never comes into memory. A file Django spooled to disk,
    of a kind that streams, stays there (`receive_spooled`)."""
    if file.size is not None:
        check_size(file.size)
    spooled = getattr(file, "temporary_file_path", None)
    if kind.streams and spooled is not None:
        return receive_spooled(Path(spooled()), file.name or "", kind)
    data = file.read(settings.FANGKONG_MAX_UPLOAD_BYTES + 1)
    return receive_bytes(data, file.name or "", kind)


def _pieces(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while piece := f.read(CHUNK_BYTES):
            yield piece


def receive_spooled(path: Path, filename: str, kind: UploadKind) -> Received:
    """A file on disk taken as it is: the same checks as `receive_bytes` (size, empty,
    type from its first bytes, sha256) made a piece at a time."""
    size = path.stat().st_size
    check_size(size)
    with path.open("rb") as f:
        head = f.read(8192)
    if not head or (size <= len(head) and head.isspace()):
        raise TableError(_("The file is empty."))
    sniff_kind(head, filename)
    digest = hashlib.sha256()
    for piece in _pieces(path):
        digest.update(piece)
    name = filename.replace("\\", "/").rsplit("/", 1)[-1][:255]
    return Received(
        kind=kind, filename=name, data=b"", sha256=digest.hexdigest(), path=path, size=size
    )


def receive_path(path: Path, kind: UploadKind) -> Received:
    """Take a file from disk (the management commands); raises OSError if unreadable."""
    check_size(path.stat().st_size)
    return receive_bytes(path.read_bytes(), path.name, kind)


def receive_bytes(data: bytes, filename: str, kind: UploadKind) -> Received:
    check_size(len(data))
    if not data or data.isspace():
        raise TableError(_("The file is empty."))
    sniff_kind(data, filename)
    name = filename.replace("\\", "/").rsplit("/", 1)[-1][:255]
    return Received(kind=kind, filename=name, data=data, sha256=hashlib.sha256(data).hexdigest())


def read(source: Received | Upload, kind: UploadKind, *, limits: Limits | None = None) -> Table:
    """The file's table, read the way its kind asks and within the limits."""
    if isinstance(source, Upload) and source.kind != kind.name:
        raise ValueError(f"upload {source.pk} is a {source.kind}, not a {kind.name}")
    if is_streamed(source):
        raise ValueError(f"{source.filename} is held in pieces: read it through held_file")
    data = source.data if isinstance(source.data, bytes) else bytes(source.data)
    return read_table(
        data,
        source.filename,
        skip_title=kind.skip_title,
        require_rows=kind.require_rows,
        limits=limits,
    )


def is_streamed(source: Received | Upload) -> bool:
    return source.chunked if isinstance(source, Upload) else source.streamed


@contextmanager
def held_file(source: Received | Upload) -> Iterator[Path]:
    """The file as a path for a streamed reader: a received file where Django spooled
    it; a held upload written back from its pieces, one at a time, to a temporary file
    removed afterwards (the web and worker processes share the database, not a disk)."""
    if isinstance(source, Received):
        if source.path is None:
            raise ValueError(f"{source.filename} was received in memory")
        yield source.path
        return
    with tempfile.TemporaryDirectory(prefix="fangkong-upload-") as tmp:
        path = Path(tmp) / (Path(source.filename).name or "upload")
        with path.open("wb") as f:
            pieces = UploadChunk.objects.filter(upload=source).order_by("seq")
            for piece in pieces.values_list("data", flat=True).iterator(chunk_size=1):
                f.write(piece)
        yield path


def head(source: Received | Upload, kind: UploadKind, rows: int) -> Table:
    """The header and the first `rows` rows of a streamed file (for its preview and
    column mapping), read from its start; the rest of the file is not read."""
    from fangkong.core.tabular_stream import open_rows

    with held_file(source) as path:
        stream = open_rows(path, limits=Limits.from_settings(), skip_title=kind.skip_title)
        try:
            first = []
            for row in stream.rows:
                first.append(row)
                if len(first) >= rows:
                    break
            return stream.table(first)
        finally:
            stream.close()


# Preview ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """The part of a file a page shows: bounded whatever the file holds."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]
    hidden_rows: int
    hidden_columns: int


def _shown(text: str, chars: int, mask: Callable[[str], str] = mask_personal) -> str:
    text = mask(text)
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


def preview(table: Table, *, masks: Mapping[int, Callable[[str], str]] | None = None) -> Preview:
    """The first rows and columns of the table, each cell cut to a readable length.

    `masks` names the columns holding personal data (column index -> masking function,
    from `core.masking`); every other cell still has ID- and mobile-shaped numbers
    masked, as in the logs: a page is not the file.
    """
    rows = settings.FANGKONG_PREVIEW_ROWS
    columns = settings.FANGKONG_PREVIEW_COLUMNS
    chars = settings.FANGKONG_PREVIEW_CELL_CHARS
    masks = masks or {}
    width = max([len(table.headers), *(len(cells) for _n, cells in table.rows[:rows])])
    return Preview(
        headers=[_shown(h, chars) for h in table.headers[:columns]],
        rows=[
            (
                number,
                [
                    _shown(c, chars, masks.get(j, mask_personal))
                    for j, c in enumerate(cells[:columns])
                ],
            )
            for number, cells in table.rows[:rows]
        ],
        hidden_rows=max(len(table.rows) - rows, 0),
        hidden_columns=max(width - columns, 0),
    )


# Holding and committing -------------------------------------------------------------


def stage(*, owner: AbstractBaseUser, received: Received) -> Upload:
    """Hold a checked file until its import is confirmed (or purged)."""
    # By id: core does not import the user model of `accounts`.
    with transaction.atomic():
        upload = Upload.objects.create(
            owner_id=owner.pk,
            kind=received.kind.name,
            filename=received.filename,
            sha256=received.sha256,
            data=received.data,
            chunked=received.streamed,
            size=received.size or len(received.data),
        )
        if received.path is not None:
            for seq, piece in enumerate(_pieces(received.path)):
                UploadChunk.objects.create(upload=upload, seq=seq, data=piece)
    return upload


def upload_for_user(user: AbstractBaseUser, kind: UploadKind, upload_id: object) -> Upload:
    """The user's own held upload of this kind (an upload belongs to whoever sent it);
    the same 404 for someone else's, another kind's, a purged one or a malformed id."""
    text = str(upload_id)
    upload = (
        Upload.objects.filter(pk=int(text), owner_id=user.pk, kind=kind.name).first()
        if text.isdigit() and len(text) < 19
        else None
    )
    if upload is None:
        raise Http404
    return upload


class Refused(Exception):
    """Raised by a commit's `apply` to write nothing and keep the file held; `payload`
    carries what the page shows (the plan with its row errors)."""

    def __init__(self, payload: Any) -> None:
        super().__init__(payload)
        self.payload = payload


def commit(upload: Upload, kind: UploadKind, apply: Callable[[Table], T]) -> T:
    """Phase 2: read the held file again, exactly as for its preview, and hand its table
    to `apply`; the upload is dropped in the same transaction, so the file goes exactly
    when its rows are written. If `apply` raises (Refused, ValidationError, TableError),
    nothing is written and the file stays held."""
    table = read(upload, kind)
    with transaction.atomic():
        result = apply(table)
        Upload.objects.filter(pk=upload.pk).delete()
    return result


def discard(upload: Upload | None) -> None:
    if upload is not None:
        Upload.objects.filter(pk=upload.pk).delete()


def purge_stale(*, now: datetime | None = None) -> int:
    """Drop uploads held longer than FANGKONG_UPLOAD_KEEP_HOURS (nobody confirmed them);
    the periodic job `core.purge_uploads` runs this. Returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.FANGKONG_UPLOAD_KEEP_HOURS)
    deleted, _per_model = Upload.objects.filter(created_at__lt=cutoff).delete()
    return deleted
