"""The example client of docs/examples runs against a live server with a key: as a
library (pages, writes retried safely) and as the script of docs/api.md that pushes a
list and saves its feedback file."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.notify.models import Notice
from fangkong.org.roles import Perm
from fangkong.screening.models import PushedList, PushedRow
from fangkong.screening.pushed import FEEDBACK_HEADERS
from tests.api_keys import issue_key
from tests.world import PASSWORD, REGISTRY, build_world, ensure_registry

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "fangkong_client.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fangkong_client", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fangkong_client"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db(transaction=True)
def test_the_example_client_reads_pages_and_writes(live_server, settings):
    from django.contrib.auth.hashers import make_password

    world = build_world(password_hash=make_password(PASSWORD))
    issued = issue_key(
        world,
        node="A",
        perms=[Perm.ORG_VIEW, Perm.REPORTS_VIEW, Perm.REPORTS_SUBMIT],
    )
    key = issued.key
    example = _example()
    api = example.FangkongClient(live_server.url, key=key, language="en", attempts=1)
    names = [team["name"] for team in api.get("/org/teams")]
    assert "四喜红色服务队" in names and "建设志愿梯队" not in names
    village = world.nodes["A"].code
    first = api.post(f"/reports/daily/{village}", {"values": {}}, idempotency_key="one")
    again = api.post(f"/reports/daily/{village}", {"values": {}}, idempotency_key="one")
    assert first == again
    with pytest.raises(example.ApiError) as refused:
        api.get(f"/reports/daily/{world.nodes['B'].code}")
    assert refused.value.status == 404
    # Cursor pages, followed to the end: the key's own inbox, one notice a page.
    Notice.objects.bulk_create(
        Notice(user=issued.client.principal, title=f"通知{i}") for i in range(3)
    )
    titles = [n["title"] for n in api.pages("/notify/notices", limit=1)]
    assert titles == ["通知2", "通知1", "通知0"]
    # A permission the key was not given: refused, in the one error shape.
    with pytest.raises(example.ApiError) as forbidden:
        list(api.pages("/org/clients", limit=1))
    assert forbidden.value.status == 403


def _xlsx(headers: list[str], rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_example_script_pushes_a_list_and_saves_its_feedback(live_server, settings, tmp_path):
    """The script of docs/api.md, run as an integrator runs it (a process of its own, the
    key in its environment), with a village's key: it uploads the county's file, polls
    the import, prints each row's result and saves the feedback file, which opens with
    openpyxl in the sender's layout holding the village's rows with their results."""
    from django.contrib.auth.hashers import make_password

    settings.FANGKONG_IMPORT_SYNC = True  # the import runs when queued (no worker here)
    world = build_world(password_hash=make_password(PASSWORD))
    ensure_registry(world)
    issued = issue_key(
        world, node="A", perms=[Perm.PEOPLE_VIEW, Perm.PEOPLE_IMPORT, Perm.DATA_EXPORT]
    )
    headers = ["序号", "姓名", "身份证号码", "联系电话", "备注"]
    people = ("A1M1", "A2")
    rows = [
        [str(i + 1), REGISTRY[k][1], REGISTRY[k][2], REGISTRY[k][3], "请核查"]
        for i, k in enumerate(people)
    ]
    rows.append(["3", "查无此人", "", "13700000099", "县里补充"])
    listed = tmp_path / "第38批.xlsx"
    listed.write_bytes(_xlsx(headers, rows))
    feedback = tmp_path / "反馈.xlsx"
    deadline = (timezone.localtime() + timedelta(days=1)).isoformat()
    command = [
        sys.executable,
        str(EXAMPLE),
        "push-list",
        live_server.url,
        str(listed),
        "--name=红码核查第38批",
        "--source=县指挥部",
        "--category=red_code",
        f"--deadline={deadline}",
        f"--feedback={feedback}",
        "--language=en",
    ]
    env = {**os.environ, "FANGKONG_KEY": issued.key}
    ran = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)  # noqa: S603
    assert ran.returncode == 0, ran.stderr
    pushed = PushedList.objects.get()
    assert pushed.jurisdiction == world.nodes["A"]  # the key's village received it
    assert f"list {pushed.pk}: feedback saved" in ran.stdout
    for key in people:
        assert f"{REGISTRY[key][1]} matched" in ran.stdout
    # The feedback file: the sender's header and rows in their order, results beside.
    sheet = load_workbook(feedback).active
    assert sheet is not None
    got = [[c if c is not None else "" for c in r] for r in sheet.iter_rows(values_only=True)]
    assert got[0] == [*headers, *FEEDBACK_HEADERS]
    assert [r[: len(headers)] for r in got[1:]] == rows
    assert [r[len(headers)] for r in got[1:]] == ["待核查"] * 3
    assert PushedRow.objects.filter(pushed=pushed).count() == 3
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, object_id=str(pushed.pk)).exists()
    # Run again (a crash after the upload, say): the upload is replayed, not repeated.
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)  # noqa: S603
    assert again.returncode == 0, again.stderr
    assert PushedList.objects.count() == 1 and PushedRow.objects.count() == 3
    # The same script with a key of the other town's village: its list is not theirs.
    other = issue_key(world, node="P", by="commander_u", perms=[Perm.PEOPLE_VIEW, Perm.DATA_EXPORT])
    api = _example().FangkongClient(live_server.url, key=other.key, attempts=1)
    with pytest.raises(Exception) as refused:
        api.download(f"/screening/lists/{pushed.pk}/feedback/xlsx", tmp_path / "no.xlsx")
    assert getattr(refused.value, "status", None) == 404
    assert not (tmp_path / "no.xlsx").exists()
