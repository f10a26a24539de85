"""Resident ID numbers of real people (domain rules §4.1, R4.1.7): the region code is
where the number was issued, so a code younger than its holder is normal. A code is
accepted when it existed in any year from the birth year to today, refused when it
never existed, and only warned about when it was retired before the birth year; every
refusal names the part of the number that is wrong. Forms, imports and the CLI show the
warnings and save anyway."""

from __future__ import annotations

import html
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from fangkong.core.identity import check_character, check_id_number, county_existed
from fangkong.people.models import ImportJob, Person
from fangkong.people.services import household_create
from fangkong.people.validation import clean_person
from tests.test_people_import import A2, HEADER, _upload, csv_bytes, plan_of

TODAY = date(2026, 11, 23)


def rid(region: str, birth: str, seq: str = "123") -> str:
    body = f"{region}{birth}{seq}"
    return body + check_character(body)


PUDONG_1980 = "310115198001011238"  # 310115 浦东新区 dates from 1992
XIUZHOU_1958 = rid("330411", "19580315", "121")  # 330411 from 1983 (郊区, then 秀洲区)
NANSHAN_1964 = rid("440305", "19640315", "123")  # 440305 南山区 from 1990
CHONGWEN_2015 = rid("110103", "20150101", "001")  # 110103 崇文区, retired in 2010
NEVER = rid("999999", "19800101")  # no such region
NO_COUNTY = rid("110199", "19800101")  # Beijing, but no county 99


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def refusal(number: str, today: date = TODAY) -> str:
    with pytest.raises(ValidationError) as caught:
        check_id_number(number, today=today)
    return " ".join(caught.value.messages)


@pytest.mark.parametrize(
    "number",
    [
        PUDONG_1980,
        XIUZHOU_1958,
        NANSHAN_1964,
        rid("330411", "19400101"),
        "11010519491231002X",  # a code without history
        rid("810000", "19600101"),  # Hong Kong residence permit, code from 1997
        rid("830000", "19550101"),  # Taiwan residence permit (R4.1.5)
        rid("110105", TODAY.strftime("%Y%m%d")),  # born today
    ],
)
def test_older_residents_numbers_are_accepted_without_a_warning(number):
    checked = check_id_number(number, today=TODAY)
    assert (checked.number, checked.warnings) == (number, ())


@pytest.mark.parametrize(
    ("number", "part"),
    [
        (NEVER, "region code of the ID number (its first 6 digits) is not a code that has ever"),
        (NO_COUNTY, "region code of the ID number (its first 6 digits) is not a code that has"),
        (rid("110105", "19990230"), "birth date in the ID number (digits 7 to 14) is not a real"),
        (rid("110105", "20261124"), "birth date in the ID number (digits 7 to 14) is in the fut"),
        (rid("110105", "18990101"), "birth date in the ID number (digits 7 to 14) is before 1900"),
        (PUDONG_1980[:-1] + "9", "check digit is wrong"),
        (PUDONG_1980[:-1], "18 characters"),
    ],
)
def test_a_refusal_says_which_part_of_the_number_is_wrong(number, part):
    assert part in refusal(number)


def test_a_code_retired_before_the_birth_year_is_a_warning_not_a_refusal():
    checked = check_id_number(CHONGWEN_2015, today=TODAY)
    assert checked.number == CHONGWEN_2015
    (warning,) = checked.warnings
    assert "崇文区" in warning and "2010" in warning and "2015" in warning
    # Personal data stays out of the message: not the number, not its digits.
    assert CHONGWEN_2015[:6] not in warning and "20150101" not in warning
    person, errors = clean_person({"name": "张三", "id_number": CHONGWEN_2015.lower()}, today=TODAY)
    assert not errors and person is not None
    assert person.id_number == CHONGWEN_2015 and person.warnings == {"id_number": [warning]}
    plain, _e = clean_person({"name": "李四", "id_number": PUDONG_1980}, today=TODAY)
    assert plain is not None and plain.warnings == {}


def test_the_year_by_year_check_stays_for_the_demo_s_synthetic_numbers():
    # The demo draws numbers "issued at birth": the code must exist in the birth year.
    assert not county_existed("330411", 1982) and county_existed("330411", 1983)
    assert county_existed("110103", 2010) and not county_existed("110103", 2011)
    assert not county_existed("999999", 2000) and not county_existed("110199", 2000)


@pytest.mark.django_db
def test_an_import_takes_old_numbers_names_repeats_and_lists_warnings(world):
    rows = [
        HEADER,
        ["王秀兰", PUDONG_1980, "", "", A2, "户主", "一路1号", ""],
        ["陈阿大", XIUZHOU_1958, "", "", A2, "户主", "一路2号", ""],
        ["赵小三", CHONGWEN_2015, "", "", A2, "户主", "一路3号", ""],
        ["王秀兰", PUDONG_1980, "", "", A2, "户主", "一路4号", ""],
        ["钱无名", NEVER, "", "", A2, "户主", "一路5号", ""],
    ]
    plan = plan_of(world, csv_bytes(rows), "old.csv", valid_only=True)
    by_row = {e.row: e.message for e in plan.errors}
    # The repeat is still named as the same person as the earlier row.
    assert by_row == {
        5: "The same ID number is already in row 2.",
        6: "The region code of the ID number (its first 6 digits) is not a code that has "
        "ever existed.",
    }
    (warning,) = plan.warnings
    assert warning.row == 4 and "崇文区" in warning.message
    assert warning.value == "110***********0014"  # masked, as the errors' values
    assert plan.counts["persons_created"] == 3


@pytest.mark.django_db
def test_the_web_preview_shows_warnings_and_imports_the_row(world, login, settings):
    settings.FANGKONG_IMPORT_SYNC = True
    client = login("cadre_a")
    client.cookies["django_language"] = "en"
    data = csv_bytes([HEADER, ["赵小三", CHONGWEN_2015, "", "", A2, "户主", "一路3号", ""]])
    response = client.post(reverse("people:import_upload"), {"file": _upload("w.csv", data)})
    assert response.status_code == 302
    page = html.unescape(client.get(response["Location"]).content.decode())
    assert 'id="fk-import-warnings"' in page and "崇文区" in page
    assert "fk-import-errors" not in page and CHONGWEN_2015 not in page
    job = ImportJob.objects.get()
    assert job.error_count == 0 and len(job.warnings) == 1
    done = client.post(reverse("people:import_commit", args=[job.pk]), {"mode": "all"})
    assert done.status_code == 302
    assert Person.objects.get().id_number == CHONGWEN_2015


@pytest.mark.django_db
def test_the_cli_prints_warnings_and_imports(world, tmp_path, capsys):
    path = tmp_path / "old.csv"
    path.write_bytes(
        csv_bytes([HEADER, ["赵小三", CHONGWEN_2015, "", "", A2, "户主", "一路3号", ""]])
    )
    call_command("import", "people", str(path), "--jurisdiction", world.nodes["A2"].code)
    err = capsys.readouterr().err
    assert "row 2" in err and "(imported)" in err and "崇文区" in err
    assert CHONGWEN_2015 not in err
    assert Person.objects.get().id_number == CHONGWEN_2015


@pytest.mark.django_db
def test_the_person_form_saves_an_old_number_and_says_what_to_check(world, login):
    household = household_create(jurisdiction=world.nodes["A1M1"], street="河街")
    worker = login("gw_a1")
    worker.cookies["django_language"] = "en"
    base = {"id_type": "ric", "residency": "huji", "status": "present"}
    old = worker.post(
        f"/people/h/{household.pk}/add/", {**base, "name": "陈阿大", "id_number": XIUZHOU_1958}
    )
    assert old.status_code == 302
    assert Person.objects.get(name="陈阿大").birth_date == date(1958, 3, 15)
    unusual = worker.post(
        f"/people/h/{household.pk}/add/",
        {**base, "name": "赵小三", "id_number": CHONGWEN_2015},
        follow=True,
    )
    page = html.unescape(unusual.content.decode())
    assert unusual.redirect_chain and "alert-warning" in page and "崇文区" in page
    assert Person.objects.filter(name="赵小三").exists()
    never = worker.post(
        f"/people/h/{household.pk}/add/", {**base, "name": "钱无名", "id_number": NEVER}
    )
    assert never.status_code == 400 and "first 6 digits" in html.unescape(never.content.decode())
    assert not Person.objects.filter(name="钱无名").exists()
