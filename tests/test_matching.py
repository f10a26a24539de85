"""Matching outside records to the registry: every rule, the noise lists arrive with,
scoping, and the batch form's query count."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pytest
from django.utils import timezone, translation
from stdnum.cn import ric

from fangkong.org.models import Jurisdiction, Level
from fangkong.org.services import jurisdiction_create
from fangkong.people.matching import (
    AUTO_MIN_SCORE,
    Candidate,
    OutsideRecord,
    best_match,
    id_corrections,
    match_record,
    match_records,
)
from fangkong.people.models import Household, Person
from fangkong.people.services import household_create, person_register
from fangkong.people.validation import clean_person

TOWN = "433122102000"
V1 = "433122102201"
V2 = "433122102202"
SHARED = "17100000001"


def make_id(birth: date, *, seq: int = 345, check: str | None = None) -> str:
    """A valid resident ID from Luxi county; `check` forces the check character."""
    for n in range(seq, seq + 1000):
        body = f"433122{birth:%Y%m%d}{n % 1000:03d}"
        number = body + ric.calc_check_digit(body + "0")
        if ric.is_valid(number) and (check is None or number[-1] == check):
            return number
    raise AssertionError("no such ID")


def swap(number: str, i: int, j: int) -> str:
    chars = list(number)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


@dataclass
class Registry:
    ids: dict[str, str]
    persons: dict[str, Person]
    v1: Jurisdiction
    v2: Jurisdiction


def _person(key: str, household: Household, **raw: str) -> Person:
    data, errors = clean_person(raw, today=timezone.localdate())
    assert data is not None, errors
    return person_register(data=data, household=household)


@pytest.fixture
def reg(db) -> Registry:
    town = jurisdiction_create(code=TOWN, name="浦市镇", level=Level.TOWN, parent=None)
    v1 = jurisdiction_create(code=V1, name="浦市村", level=Level.VILLAGE, parent=town)
    v2 = jurisdiction_create(code=V2, name="河坪村", level=Level.VILLAGE, parent=town)
    g1 = jurisdiction_create(code=V1 + "-G01", name="一网格", level=Level.GRID, parent=v1)
    g2 = jurisdiction_create(code=V2 + "-G01", name="一网格", level=Level.GRID, parent=v2)
    h1 = household_create(jurisdiction=g1, village_group="3组", house_number="12号")
    h2 = household_create(jurisdiction=g1, village_group="5组", house_number="8号")
    h3 = household_create(jurisdiction=g2, village_group="1组", house_number="3号")
    liu = make_id(date(1988, 10, 10), seq=345)
    # A namesake whose last 4 are exactly what Excel leaves of 刘洋's number ("3000").
    liu_twin = next(
        n for d in range(1, 29) if (n := make_id(date(1991, 2, d), seq=300))[14:] == liu[14] + "000"
    )
    ids = {
        "zhangwei": make_id(date(1980, 5, 17), check="X"),
        "lina": make_id(date(1982, 3, 2)),
        "xiaolong": make_id(date(2008, 6, 1)),
        "wangfang": make_id(date(1975, 11, 30)),
        "zhangwei2": make_id(date(1995, 8, 8)),
        "chenjing": make_id(date(1990, 1, 1)),
        "liuyang": liu,
        "liuyang2": liu_twin,
    }
    persons = {
        "zhangwei": _person(
            "zhangwei",
            h1,
            name="张伟",
            id_number=ids["zhangwei"],
            phone=SHARED,
            relationship="户主",
        ),
        "lina": _person(
            "lina",
            h1,
            name="李娜",
            id_number=ids["lina"],
            phone="17100000009",
            phone2=SHARED,
            relationship="配偶",
        ),
        "xiaolong": _person(
            "xiaolong",
            h1,
            name="张小龙",
            id_number=ids["xiaolong"],
            phone=SHARED,
            relationship="子",
        ),
        "wangfang": _person(
            "wangfang", h2, name="王芳", id_number=ids["wangfang"], phone="17100000002"
        ),
        "zhangwei2": _person(
            "zhangwei2", h3, name="张伟", id_number=ids["zhangwei2"], phone="17100000003"
        ),
        "chenjing": _person("chenjing", h3, name="陈静", id_number=ids["chenjing"]),
        "liuyang": _person("liuyang", h2, name="刘洋", id_number=ids["liuyang"]),
        "liuyang2": _person("liuyang2", h3, name="刘洋", id_number=ids["liuyang2"]),
    }
    return Registry(ids=ids, persons=persons, v1=v1, v2=v2)


def top(candidates: list[Candidate]) -> Candidate:
    assert candidates, "no candidates"
    return candidates[0]


def rules_of(candidates: list[Candidate], person: Person) -> list[str]:
    return next(c.rules for c in candidates if c.person_id == person.pk)


def test_exact_id_after_normalising(reg: Registry) -> None:
    number = reg.ids["zhangwei"]
    assert number.endswith("X")
    typed = " ".join(number[i : i + 6] for i in range(0, 18, 6)).lower()
    fullwidth = typed.translate(str.maketrans("0123456789x", "０１２３４５６７８９ｘ"))
    for raw in (number, typed, fullwidth):
        found = match_record(OutsideRecord(name="张伟", id_number=raw))
        assert top(found).person_id == reg.persons["zhangwei"].pk
        assert top(found).score == 1.0 and "exact_id" in top(found).rules
        assert best_match(found) == top(found)
    with translation.override("en"):
        assert "exact ID" in match_record(OutsideRecord(id_number=number))[0].reasons


def test_old_15_digit_id_is_converted(reg: Registry) -> None:
    number = reg.ids["wangfang"]
    found = match_record(OutsideRecord(name="王芳", id_number=number[:6] + number[8:17]))
    assert best_match(found) is not None
    assert top(found).person_id == reg.persons["wangfang"].pk


def test_exact_id_under_another_name_needs_confirmation(reg: Registry) -> None:
    # The shifted-row error: one row's ID next to another row's name.
    found = match_record(OutsideRecord(name="陈静", id_number=reg.ids["wangfang"]))
    assert top(found).person_id == reg.persons["wangfang"].pk
    assert "name_conflict" in top(found).rules
    assert best_match(found) is None


def test_traditional_script_is_the_same_name(reg: Registry) -> None:
    found = match_record(OutsideRecord(name="張偉", phone="171-0000-0001"))
    assert top(found).person_id == reg.persons["zhangwei"].pk
    assert top(found).rules[0] == "name_phone"
    # The shared phone brings the rest of the household, far below: still automatic.
    assert rules_of(found, reg.persons["lina"]) == ["phone_only"]
    assert best_match(found) == top(found)


def test_one_character_typo(reg: Registry) -> None:
    found = match_record(OutsideRecord(name="张玮", address="浦市村3组12号"))
    assert top(found).person_id == reg.persons["zhangwei"].pk
    assert top(found).rules == ["similar_name_address"]
    assert reg.persons["zhangwei2"].pk not in [c.person_id for c in found]
    assert best_match(found) is None

    found = match_record(OutsideRecord(name="張瑋", phone=SHARED))
    assert top(found).rules == ["similar_name_phone"]
    assert best_match(found) is None

    found = match_record(OutsideRecord(name="王方", birth_date="1975年11月30日"))
    assert top(found).person_id == reg.persons["wangfang"].pk
    assert top(found).rules == ["similar_name_birth"]


def test_id_with_swapped_or_mistyped_digits(reg: Registry) -> None:
    number = reg.ids["wangfang"]
    swapped = swap(number, 14, 16)
    assert swapped != number and not ric.is_valid(swapped)
    found = match_record(OutsideRecord(name="王芳", id_number=swapped))
    assert top(found).person_id == reg.persons["wangfang"].pk
    assert top(found).rules == ["id_swap_name"]
    assert best_match(found) == top(found)

    mistyped = number[:15] + str((int(number[15]) + 3) % 10) + number[16:]
    found = match_record(OutsideRecord(name="王芳", id_number=mistyped))
    assert top(found).rules == ["id_digit_name"]
    assert best_match(found) == top(found)

    # Without the name a one-typo correction is weak evidence.
    found = match_record(OutsideRecord(name="赵六", id_number=mistyped))
    assert top(found).rules == ["id_near"]
    assert best_match(found) is None


def test_name_and_an_id_one_typo_off_are_a_sure_match_wherever_the_typo_is(reg: Registry) -> None:
    """Two neighbours swapped or one digit wrong, in the region, the birth date or the
    sequence: with the same name the corrected number is the resident's."""
    wang, zhang = reg.persons["wangfang"], reg.persons["zhangwei"]
    for key, person in (("wangfang", wang), ("zhangwei", zhang)):
        number = reg.ids[key]
        damaged = {swap(number, i, i + 1) for i in range(17)} - {number}
        damaged |= {
            number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1 :] for i in range(17)
        }
        for typed in sorted(damaged):
            found = match_record(OutsideRecord(name=person.name, id_number=typed))
            sure = best_match(found)
            # 张伟 has a namesake in the town: still unambiguous, the namesake is "name only".
            assert sure is not None and sure.person_id == person.pk, typed[-6:]
            assert sure.rules[0] in ("id_adjacent_name", "id_digit_name")
    # The same damage under a similar name, or another name, is never automatic.
    typed = swap(reg.ids["wangfang"], 8, 9)
    assert best_match(match_record(OutsideRecord(name="王方", id_number=typed))) is None
    assert best_match(match_record(OutsideRecord(name="赵六", id_number=typed))) is None


def test_a_typo_that_fits_two_namesakes_is_not_guessed(reg: Registry) -> None:
    number = reg.ids["wangfang"]
    today = timezone.localdate()
    typed = number[:15] + str((int(number[15]) + 3) % 10) + number[16:]
    other = next(
        n for n in id_corrections(typed, today=today) if n != number and n[:6] == number[:6]
    )
    household = reg.persons["chenjing"].household
    assert household is not None
    twin = _person("wangfang_other", household, name="王芳", id_number=other)
    found = match_record(OutsideRecord(name="王芳", id_number=typed))
    assert {c.person_id for c in found[:2]} == {reg.persons["wangfang"].pk, twin.pk}
    assert best_match(found) is None


def test_id_corrections_contain_the_true_number() -> None:
    today = timezone.localdate()
    number = make_id(date(1966, 7, 9), seq=123)
    for i, j in ((0, 5), (6, 7), (14, 16), (3, 17)):
        damaged = swap(number, i, j)
        if damaged != number:
            assert number in id_corrections(damaged, today=today)
    for i in range(18):
        for wrong in "0123456789":
            damaged = number[:i] + wrong + number[i + 1 :]
            if damaged != number and (i < 6 or i > 13):
                assert id_corrections(damaged, today=today)[number] == "digit"


def test_missing_id(reg: Registry) -> None:
    found = match_record(OutsideRecord(name="王芳", phone="17100000002"))
    assert top(found).rules == ["name_phone"]
    assert best_match(found) == top(found)

    found = match_record(OutsideRecord(name="王芳", birth_date="1975/11/30"))
    assert top(found).rules == ["name_birth"]
    assert top(found).score < AUTO_MIN_SCORE and best_match(found) is None

    found = match_record(OutsideRecord(name="王芳", birth_date="1975-11-30", address="5组8号"))
    assert top(found).rules == ["name_birth", "name_address"]
    assert best_match(found) == top(found)


def test_phone_shared_by_household_never_auto_matches(reg: Registry) -> None:
    household = {reg.persons[k].pk for k in ("zhangwei", "lina", "xiaolong")}
    for record in (OutsideRecord(phone=SHARED), OutsideRecord(name="赵六", phone=SHARED)):
        found = match_record(record)
        assert {c.person_id for c in found} == household
        assert all(c.rules == ["phone_only"] for c in found)
        assert best_match(found) is None


def test_last4_and_name(reg: Registry) -> None:
    number = reg.ids["wangfang"]
    for raw in ("433122********" + number[-4:], number[-4:]):
        found = match_record(OutsideRecord(name="王芳", id_number=raw))
        assert top(found).person_id == reg.persons["wangfang"].pk
        assert "last4_name" in top(found).rules


def test_excel_damaged_ids_are_treated_as_missing(reg: Registry) -> None:
    number = reg.ids["liuyang"]
    liu, twin = reg.persons["liuyang"], reg.persons["liuyang2"]
    found = match_record(OutsideRecord(name="刘洋", id_number="4.33122E+17"))
    assert {c.person_id for c in found} == {liu.pk, twin.pk}
    assert all(c.rules == ["name_only"] for c in found)
    assert best_match(found) is None

    zeroed = number[:15] + "000"
    assert zeroed[-4:] == reg.ids["liuyang2"][-4:]  # the trap: a namesake with those last 4
    found = match_record(OutsideRecord(name="刘洋", id_number=zeroed))
    # The date part survives Excel: name + birth date for the right one only.
    assert rules_of(found, liu) == ["name_birth"]
    assert rules_of(found, twin) == ["name_only"]
    assert all("exact_id" not in c.rules and "last4_name" not in c.rules for c in found)
    # As a spreadsheet float it arrives the same way.
    found = match_record(OutsideRecord(name="刘洋", id_number=str(float(zeroed))))
    assert all("exact_id" not in c.rules for c in found)


def test_contradicting_id_lowers_the_score(reg: Registry) -> None:
    # Name and phone agree, but a well-formed ID of someone else is given.
    other = make_id(date(1970, 1, 1), seq=700)
    found = match_record(OutsideRecord(name="张伟", phone=SHARED, id_number=other))
    assert "id_conflict" in top(found).rules
    assert best_match(found) is None


def test_namesakes_born_the_same_day_need_confirmation(reg: Registry) -> None:
    found = match_record(OutsideRecord(name="刘洋", birth_date="1988-10-10", address="浦市村"))
    assert top(found).person_id == reg.persons["liuyang"].pk
    found = match_record(OutsideRecord(name="张伟"))
    assert len(found) == 2 and best_match(found) is None


def test_unknown_person_has_no_candidates(reg: Registry) -> None:
    unknown = make_id(date(1999, 9, 9), seq=500)
    assert (
        match_record(OutsideRecord(name="欧阳修远", id_number=unknown, phone="17199999999")) == []
    )
    assert match_record(OutsideRecord()) == []


def test_scoping_never_returns_a_person_outside_the_queryset(reg: Registry) -> None:
    outside = reg.persons["zhangwei2"]
    records = [
        OutsideRecord(name="张伟", id_number=reg.ids["zhangwei2"], phone="17100000003"),
        OutsideRecord(name="张伟", birth_date="1995-08-08"),
        OutsideRecord(name="张伟"),
        OutsideRecord(name="陈静", id_number=reg.ids["chenjing"]),
    ]
    scoped = Person.objects.within(reg.v1.path)
    results = match_records(records, persons=scoped)
    assert all(c.person_id != outside.pk for found in results for c in found)
    assert results[3] == []
    assert {c.person_id for c in results[2]} == {reg.persons["zhangwei"].pk}
    # Unscoped, the same record finds them.
    assert top(match_record(records[0])).person_id == outside.pk


def _mixed_records(reg: Registry, n: int) -> list[OutsideRecord]:
    number = reg.ids["wangfang"]
    kinds = [
        OutsideRecord(name="张伟", id_number=reg.ids["zhangwei"]),
        OutsideRecord(name="張偉", phone=SHARED),
        OutsideRecord(name="张玮", address="浦市村3组12号"),
        OutsideRecord(name="王芳", id_number=swap(number, 14, 16)),
        OutsideRecord(name="王芳", birth_date="1975-11-30"),
        OutsideRecord(name="王芳", id_number="433122********" + number[-4:]),
        OutsideRecord(name="刘洋", id_number="4.33122E+17"),
        OutsideRecord(phone=SHARED),
    ]
    out = []
    for i in range(n):
        base = kinds[i % len(kinds)]
        # Vary the rows so later ones are not repeats of the first few.
        out.append(
            OutsideRecord(
                name=base.name + ("" if i < len(kinds) else "某" * (i % 3)),
                id_number=base.id_number,
                phone=base.phone or (f"1710000{i:04d}" if i >= len(kinds) else ""),
                address=base.address,
                birth_date=base.birth_date or (f"19{50 + i % 50}-01-0{1 + i % 9}" if i else ""),
            )
        )
    return out


@pytest.mark.parametrize("rows", [8, 200])
def test_batch_query_count_does_not_grow_with_rows(
    reg: Registry, rows: int, django_assert_max_num_queries
) -> None:
    records = _mixed_records(reg, rows)
    with django_assert_max_num_queries(5):
        results = match_records(records)
    assert len(results) == rows
    assert top(results[0]).person_id == reg.persons["zhangwei"].pk
    # The same answer as one at a time.
    assert results[:8] == [match_record(r) for r in records[:8]]


def test_reasons_carry_no_id_or_phone(reg: Registry) -> None:
    numbers = set(reg.ids.values()) | {SHARED, "17100000002"}
    for found in match_records(_mixed_records(reg, 40)):
        for candidate in found:
            text = " ".join(candidate.reasons)
            assert not re.search(r"\d{4}", text)
            assert not any(n[-4:] in text for n in numbers)
