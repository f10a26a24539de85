"""The registry import of a large file, read and written in parts (people.import_stream).

Parts are made tiny here (2-4 rows) so that households, repeated IDs and grids cross
their boundaries; the outcome must be what the whole-file import gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from openpyxl import Workbook

from fangkong.core.tabular import Limits
from fangkong.people.import_stream import import_people_stream
from fangkong.people.importer import ImportOptions, scope_for_user
from fangkong.people.models import Household, Person, PersonChange, PersonTag
from tests.test_people_import import A2, B1, HEADER, csv_bytes, family, rid
from tests.world import World

pytestmark = pytest.mark.django_db
LIMITS = Limits(rows=1000, columns=50, cell_chars=200, unpacked_bytes=10**8)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def run(world: World, path: Path, chunk_rows: int = 2, **opts: Any) -> Any:
    return import_people_stream(
        path,
        scope_for_user(world.users["cadre_a"]),
        ImportOptions(filename=path.name, **opts),
        actor=world.users["cadre_a"],
        source=f"import:{path.name}",
        limits=LIMITS,
        chunk_rows=chunk_rows,
    )


def write_csv(tmp_path: Path, rows: list[list[Any]], name: str = "big.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows))
    return path


def test_households_split_between_parts_are_one_household(world, tmp_path):
    rows = [HEADER, *family("H1", A2, 1), *family("H2", A2, 10)]
    # H1 again after H2: its fourth member arrives in another part.
    rows.append(["王五", rid(20), "", "H1", A2, "儿子", "幸福路1号", ""])
    out = run(world, write_csv(tmp_path, rows), chunk_rows=2)
    assert not out.blocked and out.written is not None
    assert out.written["persons_created"] == 7
    assert Household.objects.count() == 2
    h1 = Person.objects.get(name="王五").household
    assert h1 is not None and h1.members.count() == 4
    assert h1.head is not None and h1.head.name == "张伟"
    assert PersonChange.objects.count() == 7 and PersonTag.objects.count() == 2
    assert out.counts["households_created"] == 2


def test_reimport_in_parts_changes_nothing(world, tmp_path):
    path = write_csv(tmp_path, [HEADER, *family("H1", A2, 1), *family("H2", A2, 10)])
    run(world, path)
    again = run(world, path, chunk_rows=3)
    assert again.counts["persons_unchanged"] == 6 and again.counts["persons_created"] == 0
    assert again.written is not None and again.written["persons_created"] == 0
    assert Person.objects.count() == 6 and PersonChange.objects.count() == 6


def test_id_repeated_in_a_later_part_is_an_error_and_nothing_is_written(world, tmp_path):
    rows = [HEADER, *family("H1", A2, 1), *family("H2", A2, 10)]
    rows.append(["重复", rid(1), "", "H3", A2, "户主", "南路1号", ""])
    out = run(world, write_csv(tmp_path, rows), chunk_rows=2)
    assert out.blocked and out.written is None
    assert [(e.row, e.column, e.message) for e in out.errors] == [
        (8, "身份证号", "The same ID number is already in row 2.")
    ]
    assert Person.objects.count() == 0 and Household.objects.count() == 0


def test_household_across_parts_in_two_grids_is_an_error(world, tmp_path):
    rows = [HEADER, *family("H1", A2, 1), *family("H2", A2, 10)]
    rows.append(["王五", rid(20), "", "H1", B1, "儿子", "幸福路1号", ""])
    out = run(world, write_csv(tmp_path, rows), chunk_rows=2)
    # B1 is outside cadre_a's scope: the row's own error, found in its part.
    assert out.blocked and {e.row for e in out.errors} == {8}


def test_valid_only_leaves_the_bad_household_out(world, tmp_path):
    rows = [HEADER, *family("H1", A2, 1), *family("H2", A2, 10)]
    rows[5][1] = "110105198001011234"  # H2's second member: a wrong check digit
    out = run(world, write_csv(tmp_path, rows), chunk_rows=2, valid_only=True)
    assert out.written is not None
    assert out.written["persons_created"] == 3
    assert Household.objects.count() == 1 and Person.objects.count() == 3


def test_failure_in_a_later_part_leaves_nothing(world, tmp_path, monkeypatch):
    from fangkong.people import import_commit, import_stream

    real = import_commit.write_plan
    calls: list[int] = []

    def boom(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:  # the second household, after the first was written
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(import_stream, "write_plan", boom)
    path = write_csv(tmp_path, [HEADER, *family("H1", A2, 1), *family("H2", A2, 10)])
    with pytest.raises(RuntimeError):
        run(world, path, chunk_rows=2)
    assert Person.objects.count() == 0 and Household.objects.count() == 0


def test_xlsx_streamed_like_csv(world, tmp_path):
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["XX村人口登记表"])
    for row in [HEADER, *family("H1", A2, 1), *family("H2", A2, 10)]:
        sheet.append(row)
    path = tmp_path / "big.xlsx"
    book.save(path)
    out = run(world, path, chunk_rows=2)
    assert out.written is not None and out.written["persons_created"] == 6
    assert Household.objects.count() == 2
