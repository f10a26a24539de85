"""The co-location job on DuckDB: the 太子农庄 scenario with its reasons, and the answer of
random extracts against the brute-force reference (tolerance, look-back window, stays
longer than a slot, second degree from the first contact on)."""

from __future__ import annotations

import csv
from datetime import timedelta

import pytest
from django.utils import translation

from fangkong.tracing.colocation import IndexCase, Settings, colocate, contacts
from fangkong.tracing.engines import DuckDBEngine
from fangkong.tracing.extract import from_rows
from tests.tracing_support import T0, random_extract, reference

FARM, SHOP = 7, 8


def at(hours: float, minutes: int = 0):
    # T0 is midnight UTC: 04:00 UTC is 12:00 in Asia/Shanghai.
    return T0 + timedelta(hours=hours, minutes=minutes)


def farm_extract(*, case_earlier: bool = False):
    rows = [
        ("case-1", FARM, at(4), at(5)),  # 12:00-13:00 at the farm
        ("guest", FARM, at(4, 5), at(4, 50)),  # 12:05-12:50: 45 minutes together
        ("late", FARM, at(5, 5), at(5, 30)),  # came 5 minutes after the case left
        (
            "other-day",
            FARM,
            at(4 - 48),
            at(5 - 48),
        ),  # 2 days earlier: outside a 2-day look-back from the onset (06-02 14:00)
        ("guest", SHOP, at(8), None),  # the guest's later visit, assumed 30 minutes
        ("neighbour", SHOP, at(8, 10), at(9)),  # meets the guest: second degree
        ("before", SHOP, at(7), at(7, 30)),  # the shop before the guest came: nobody
    ]
    if case_earlier:
        rows.append(("case-1", FARM, at(4 - 48), at(5 - 48)))  # with other-day
    return from_rows(rows, assumed_stay=timedelta(minutes=30))


def run(extract, cases, settings):
    engine = DuckDBEngine()
    engine.load(extract, slot=settings.slot_minutes * 60)
    try:
        return colocate(engine, extract, cases, settings)
    finally:
        engine.close()


def test_the_farm_finds_the_guest_with_its_reason_and_the_neighbour_second():
    extract = farm_extract()
    cases = [IndexCase("case-1", onset=at(30), isolated_at=at(31))]
    found = contacts(extract, run(extract, cases, Settings()))
    assert [(c.person_key, c.degree, c.source_key) for c in found] == [
        ("guest", 1, "case-1"),
        ("neighbour", 2, "guest"),
    ]
    guest = found[0]
    assert guest.overlap_seconds == 45 * 60
    with translation.override("zh-hans"):
        assert guest.reason("太子农庄") == "同在 太子农庄 06-01 12:05–12:50, 与病例重叠 45 分钟"
    with translation.override("en"):
        assert "overlapping the case by 45 minutes" in guest.reason("太子农庄")
        assert "with close contact 客人" in found[1].reason("小卖部", "客人")


def test_a_tolerance_takes_in_the_late_comer_and_says_so():
    extract = farm_extract()
    cases = [IndexCase("case-1", onset=at(30), isolated_at=at(31))]
    found = contacts(extract, run(extract, cases, Settings(tolerance_minutes=10)))
    late = [c for c in found if c.person_key == "late"]
    assert len(late) == 1 and late[0].degree == 1 and late[0].overlap_seconds == -5 * 60
    with translation.override("en"):
        assert "5 minutes apart from the case" in late[0].reason("太子农庄")


def test_a_longer_lookback_reaches_an_earlier_visit_and_no_second_degree_if_the_rule_says():
    extract = farm_extract(case_earlier=True)
    cases = [IndexCase("case-1", onset=at(30), isolated_at=at(31))]
    wide = run(extract, cases, Settings(lookback_days=4, second_degree=False))
    assert "other-day" in {c.person_key for c in contacts(extract, wide)}
    assert wide.second is None
    narrow = run(extract, cases, Settings(lookback_days=2, second_degree=False))
    assert "other-day" not in {c.person_key for c in contacts(extract, narrow)}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("rules", [Settings(), Settings(tolerance_minutes=15, slot_minutes=20)])
def test_duckdb_gives_the_reference_answer(seed, rules):
    extract, cases = random_extract(seed)
    result = run(extract, cases, rules)
    first, second = reference(extract, cases, rules)
    assert first, "the data must produce contacts for the comparison to mean something"
    assert second
    assert result.rows(1) == first
    assert result.rows(2) == second


def test_a_case_without_scans_has_no_contacts():
    extract = farm_extract()
    result = run(extract, [IndexCase("nobody", onset=at(30), isolated_at=at(31))], Settings())
    assert result.rows(1) == [] and result.rows(2) == []


def test_the_command_reads_an_extract_and_writes_the_contacts(tmp_path, db):
    from io import StringIO

    from django.core.management import CommandError, call_command

    farm_extract().write_parquet(tmp_path / "scans.parquet")
    (tmp_path / "cases.csv").write_text(
        f"person_key,onset,isolated_at\ncase-1,{at(30).isoformat()},{at(31).isoformat()}\n"
    )
    out = StringIO()
    call_command(
        "colocate", extract=tmp_path / "scans.parquet", cases=tmp_path / "cases.csv", stdout=out
    )
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("person_key,degree,source_key")
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["guest", "1", "case-1"],
        ["neighbour", "2", "guest"],
    ]
    (tmp_path / "bad.csv").write_text("person_key,onset,isolated_at\ncase-1,yesterday,\n")
    with translation.override("en"), pytest.raises(CommandError, match=r"bad\.csv row 2"):
        call_command("colocate", extract=tmp_path / "scans.parquet", cases=tmp_path / "bad.csv")


def test_the_command_reads_the_place_code_scans_when_given_no_extract(world, tmp_path):
    """The county's own extract: scans recorded by the places app, the reason naming the
    place as registered."""
    from io import StringIO

    from django.core.management import call_command

    from fangkong.places.services import scan_record
    from tests.places_support import place_of

    farm = place_of(world, "太子农庄", "restaurant")
    for key, when in (("case-key", at(4)), ("guest-key", at(4, 10)), ("late-key", at(7))):
        scan_record(place=farm, key=key, now=when)
    listed = tmp_path / "cases.csv"
    listed.write_text(
        f"person_key,onset,isolated_at\ncase-key,{at(30).isoformat()},{at(31).isoformat()}\n"
    )
    out = StringIO()
    with translation.override("zh-hans"):
        call_command("colocate", cases=listed, stdout=out)
    rows = list(csv.reader(out.getvalue().splitlines()))[1:]
    assert [(r[0], r[1], r[2]) for r in rows] == [("guest-key", "1", "case-key")]
    assert rows[0][-1].startswith("同在 太子农庄") and "与病例重叠 20 分钟" in rows[0][-1]
