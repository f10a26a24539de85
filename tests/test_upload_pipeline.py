"""The pipeline's own parts: held uploads (their owner and kind, kept when a commit is
refused), the purge of stale ones as a periodic job, the size check before a file is
read, a header without rows, and the bounded, masked preview."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.test import override_settings
from django.utils import timezone, translation

from fangkong.core import uploads
from fangkong.core.models import Upload
from fangkong.core.schedule import PERIODIC
from fangkong.core.tabular import Table, TableError, read_table
from fangkong.org.models import Jurisdiction
from fangkong.org.tree_io import TREE_UPLOAD

A = "330411102201"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


# Holding and purging -----------------------------------------------------------------


def test_stale_uploads_are_purged_by_a_periodic_job(world, settings):
    job = PERIODIC["core.purge_uploads"]
    assert job.every == timedelta(hours=1)
    from fangkong.core.tasks import purge_uploads_task

    assert job.task == "fangkong.core.tasks.purge_uploads_task"
    received = uploads.receive_bytes(b"a,b\n1,2\n", "t.csv", TREE_UPLOAD)
    old = uploads.stage(owner=world.users["commander"], received=received)
    fresh = uploads.stage(owner=world.users["commander"], received=received)
    Upload.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_uploads_task.call() == 1
    assert list(Upload.objects.values_list("pk", flat=True)) == [fresh.pk]
    settings.FANGKONG_UPLOAD_KEEP_HOURS = 0
    assert uploads.purge_stale(now=timezone.now() + timedelta(seconds=1)) == 1


def test_a_held_upload_is_its_owners_and_of_its_kind(world):
    received = uploads.receive_bytes(b"a,b\n1,2\n", "t.csv", TREE_UPLOAD)
    upload = uploads.stage(owner=world.users["commander"], received=received)
    other_kind = uploads.UploadKind("policy.areas")
    assert uploads.upload_for_user(world.users["commander"], TREE_UPLOAD, upload.pk) == upload
    for user, kind, upload_id in (
        (world.users["cadre_a"], TREE_UPLOAD, upload.pk),
        (world.users["commander"], other_kind, upload.pk),
        (world.users["commander"], TREE_UPLOAD, "1 OR 1"),
        (world.users["commander"], TREE_UPLOAD, "9" * 40),
    ):
        with pytest.raises(Http404):
            uploads.upload_for_user(user, kind, upload_id)


def test_a_refused_commit_keeps_the_file_and_writes_nothing(world):
    received = uploads.receive_bytes("代码,名称\n1,甲\n".encode(), "t.csv", TREE_UPLOAD)
    upload = uploads.stage(owner=world.users["commander"], received=received)

    def apply(table: Any) -> None:
        Jurisdiction.objects.filter(code=A).update(name="改名")
        raise uploads.Refused(table.rows)

    with pytest.raises(uploads.Refused) as refused:
        uploads.commit(upload, TREE_UPLOAD, apply)
    assert refused.value.payload == [(2, ["1", "甲"])]
    assert Upload.objects.filter(pk=upload.pk).exists()
    assert Jurisdiction.objects.get(code=A).name == "四喜社区"
    assert uploads.commit(upload, TREE_UPLOAD, lambda table: len(table.rows)) == 1
    assert not Upload.objects.exists()


def test_an_oversized_upload_is_refused_before_it_is_read(settings):
    settings.FANGKONG_MAX_UPLOAD_BYTES = 10

    class Unread(SimpleUploadedFile):
        def read(self, *args: Any) -> bytes:
            raise AssertionError("read")

    with pytest.raises(TableError, match="the limit is 10 B"):
        uploads.receive(Unread("big.csv", b"a,b\n1,2\n3,4\n"), TREE_UPLOAD)


def test_a_header_without_rows_is_refused_where_rows_are_required():
    assert read_table(b"a,b\n", "x.csv").rows == []
    with pytest.raises(TableError, match=r"^The file has a header row but no data rows\.$"):
        read_table(b"a,b\n,\n", "x.csv", require_rows=True)


# The preview -------------------------------------------------------------------------


@override_settings(
    FANGKONG_PREVIEW_ROWS=2, FANGKONG_PREVIEW_COLUMNS=3, FANGKONG_PREVIEW_CELL_CHARS=8
)
def test_the_preview_is_bounded_and_masks_personal_data():
    table = Table(
        headers=["姓名", "身份证号", "电话", "备注", "其他"],
        rows=[
            (2, ["张伟", "110105198001010019", "13912345678", "x", "y"]),
            (3, ["李娜", "", "", "很长很长很长很长很长的备注", ""]),
            (4, ["王五", "", "", "", ""]),
        ],
    )
    shown = uploads.preview(table, masks={0: lambda name: name[0] + "*"})
    assert shown.headers == ["姓名", "身份证号", "电话"]
    assert shown.rows == [
        (2, ["张*", "110****…", "139****…"]),
        (3, ["李*", "", ""]),
    ]
    assert (shown.hidden_rows, shown.hidden_columns) == (1, 2)
    long = uploads.preview(Table(headers=["备注"], rows=[(2, ["很长很长很长很长很长的备注"])]))
    assert long.rows == [(2, ["很长很长很长很…"])]
