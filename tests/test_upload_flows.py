"""The one upload pipeline, seen from each of the four import flows (jurisdiction tree,
registry, risk areas, pushed lists) and the two import commands: the same limits, the
same answer to an empty file, the same encodings (Excel's "Unicode text").

Every refusal answers 400 with the row and column or the reason, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from fangkong.core.models import Upload
from fangkong.org.models import Jurisdiction
from fangkong.people.models import ImportJob, Person
from fangkong.policy.models import RiskArea
from fangkong.screening.models import PushedList, PushedRow
from tests.spreadsheet_files import (
    huge_inline_cell_xlsx,
    huge_shared_cell_xlsx,
    unicode_text,
    wide_csv,
)
from tests.test_people_import import HEADER as PEOPLE_HEADER
from tests.test_people_import import family

A = "330411102201"


@dataclass(frozen=True)
class Flow:
    url: str
    header: list[str]
    extra: Callable[[], dict[str, str]]
    # What the flow writes: unchanged by every refused file.
    written: Callable[[], tuple[int, ...]]


def _deadline() -> dict[str, str]:
    deadline = timezone.localtime() + timedelta(days=1)
    return {
        "name": "核查名单",
        "source": "县指挥部",
        "category": "red_code",
        "deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
    }


FLOWS = {
    "org-tree": Flow(
        "/org/import/",
        ["代码", "名称", "层级", "上级代码"],
        dict,
        lambda: (Jurisdiction.objects.count(),),
    ),
    "people": Flow(
        "/people/import/",
        PEOPLE_HEADER,
        dict,
        lambda: (Person.objects.count(), ImportJob.objects.count()),
    ),
    "risk-areas": Flow(
        "/policy/areas/import/",
        ["省", "区县", "街道", "风险等级", "起始日期"],
        lambda: {"source": "县指挥部转发"},
        lambda: (RiskArea.objects.count(),),
    ),
    "pushed-list": Flow(
        "/screening/lists/new/",
        ["姓名", "身份证号", "联系电话", "现住址"],
        _deadline,
        lambda: (PushedList.objects.count(), PushedRow.objects.count()),
    ),
}


@pytest.fixture
def manager(login: Callable[[str], Client]) -> Client:
    # The county's command post may use all four imports (the risk-area catalogue is
    # kept from the top of the tree).
    client = login("county")
    client.cookies["django_language"] = "en"
    return client


def _post(client: Client, flow: Flow, name: str, data: bytes) -> Any:
    return client.post(flow.url, {"file": SimpleUploadedFile(name, data), **flow.extra()})


def _refused(client: Client, flow: Flow, name: str, data: bytes, why: str) -> None:
    before = flow.written()
    response = _post(client, flow, name, data)
    assert response.status_code == 400
    assert why in response.content.decode()
    assert flow.written() == before
    assert not Upload.objects.exists()


@pytest.mark.parametrize("flow", list(FLOWS))
def test_the_wide_csv_is_refused_naming_row_and_column(world, manager, flow):
    why = "Row 1, column GS: a file may have at most 200 columns."
    _refused(manager, FLOWS[flow], "list.csv", wide_csv(), why)


@pytest.mark.parametrize("flow", list(FLOWS))
@pytest.mark.parametrize(
    "build,where",
    [(huge_inline_cell_xlsx, "Row 3, column B"), (huge_shared_cell_xlsx, "Row 3, column D")],
    ids=["inline", "shared"],
)
def test_the_200_mb_cell_is_refused_naming_row_and_column(world, manager, flow, build, where):
    why = f"{where}: a cell may hold at most 2000 characters."
    _refused(manager, FLOWS[flow], "list.xlsx", build(), why)


@pytest.mark.parametrize("flow", list(FLOWS))
@pytest.mark.parametrize(
    "content,why",
    [
        (b"", "The submitted file is empty."),
        (b" \r\n\t\r\n", "The file is empty."),
        (None, "The file has a header row but no data rows."),
    ],
    ids=["zero-bytes", "whitespace", "header-only"],
)
def test_an_empty_file_is_a_400_and_changes_nothing(world, manager, flow, content, why):
    data = content if content is not None else (",".join(FLOWS[flow].header) + "\r\n").encode()
    _refused(manager, FLOWS[flow], "list.csv", data, why)


# UTF-16 ("Unicode text") on every path --------------------------------------------------


@pytest.mark.parametrize("big_endian", [False, True], ids=["le", "be"])
def test_the_tree_is_read_from_unicode_text(world, manager, big_endian):
    rows = [FLOWS["org-tree"].header, [f"{A}-G03", "新華网格", "网格", A]]
    response = _post(
        manager, FLOWS["org-tree"], "网格.txt", unicode_text(rows, big_endian=big_endian)
    )
    assert response.status_code == 200, response.content.decode()[-3000:]
    assert "新華网格" in response.content.decode()  # the preview shows the file as read
    done = manager.post(reverse("org:tree_import_confirm", args=[response.context["upload"].pk]))
    assert done.context["result"]["created"] == 1
    assert Jurisdiction.objects.get(code=f"{A}-G03").name == "新華网格"
    assert not Upload.objects.exists()


def test_the_registry_is_read_from_unicode_text(world, manager, settings):
    settings.FANGKONG_IMPORT_SYNC = True
    rows = [PEOPLE_HEADER, *family("H1", f"{A}-G01-M01", 1)]
    response = _post(manager, FLOWS["people"], "户籍.txt", unicode_text(rows))
    assert response.status_code == 302, response.content.decode()[-3000:]
    job = ImportJob.objects.get()
    assert job.error_count == 0 and job.counts["persons_created"] == 3
    done = manager.post(reverse("people:import_commit", args=[job.pk]), {"mode": "all"})
    assert done.status_code == 302
    assert set(Person.objects.values_list("name", flat=True)) == {"张伟", "李娜", "張小明"}
    assert not Upload.objects.exists()


def test_risk_areas_are_read_from_unicode_text(world, manager):
    rows = [
        FLOWS["risk-areas"].header,
        ["上海市", "浦东新区", "陆家嘴街道", "高风险", "2022-07-01"],
    ]
    response = _post(manager, FLOWS["risk-areas"], "风险区.txt", unicode_text(rows))
    assert response.status_code == 200, response.content.decode()[-3000:]
    upload_id = response.context["upload"].pk
    manager.post("/policy/areas/import/", {"upload_id": upload_id, "source": "转发"})
    assert RiskArea.objects.get().name == "上海市浦东新区陆家嘴街道"
    assert not Upload.objects.exists()


def test_a_pushed_list_is_read_from_unicode_text(world, manager, settings):
    settings.FANGKONG_IMPORT_SYNC = True
    rows = [FLOWS["pushed-list"].header, ["張偉", "110105198001010019", "13912345678", "四喜社区"]]
    response = _post(manager, FLOWS["pushed-list"], "名单.txt", unicode_text(rows))
    assert response.status_code == 302, response.content.decode()[-3000:]
    # The mapping step reads the held file again, then the import makes the list.
    response = manager.post(response["Location"])
    assert response.status_code == 302, response.content.decode()[-3000:]
    pushed = PushedList.objects.get()
    assert pushed.headers == rows[0]
    assert PushedRow.objects.get(pushed=pushed).name == "張偉"


# The commands ------------------------------------------------------------------------


@translation.override("en")  # the messages it matches
def test_the_import_commands_read_unicode_text_and_refuse_the_wide_file(world, tmp_path: Path):
    tree = tmp_path / "tree.txt"
    tree.write_bytes(unicode_text([FLOWS["org-tree"].header, [f"{A}-G04", "河西网格", "网格", A]]))
    call_command("import_tree", str(tree))
    assert Jurisdiction.objects.get(code=f"{A}-G04").name == "河西网格"
    people = tmp_path / "people.txt"
    people.write_bytes(unicode_text([PEOPLE_HEADER, *family("H1", f"{A}-G04", 1)]))
    call_command("import", "people", str(people))
    assert Person.objects.filter(jurisdiction__code=f"{A}-G04").count() == 3
    wide = tmp_path / "wide.csv"
    wide.write_bytes(wide_csv())
    for command in (["import_tree"], ["import", "people"]):
        with pytest.raises(CommandError, match="column GS"):
            call_command(*command, str(wide))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="The file is empty"):
        call_command("import", "people", str(empty))
