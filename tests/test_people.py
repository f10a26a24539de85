"""Population registry: validation, history, search in both scripts, registers, pages, export."""

from __future__ import annotations

import csv
import html
import io
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import translation
from openpyxl import load_workbook

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.people import selectors
from fangkong.people.models import Household, Person, PersonChange, Tag
from fangkong.people.services import household_create, person_register, person_update
from fangkong.people.validation import clean_person, explain_id_damage, parse_date

TODAY = date(2026, 11, 23)
ZHANG = "11010519491231002X"  # valid, born 1949-12-31, female


def clean(**raw):
    with translation.override("en"):
        return clean_person(raw, today=TODAY)


def test_clean_person_derives_and_cross_checks():
    person, errors = clean(name=" 张三 ", id_number="11010519491231002x")
    assert not errors and person is not None
    assert (person.id_number, person.sex, person.birth_date) == (ZHANG, "F", date(1949, 12, 31))
    fullwidth, errors = clean(
        name="张三",
        id_number="１１０１０５１９４９１２３１００２Ｘ",
        sex="女",
        birth_date="1949年12月31日",
    )
    assert not errors and fullwidth.id_number == ZHANG
    _p, errors = clean(name="张三", id_number=ZHANG, sex="男", birth_date="1950-01-01")
    assert errors["sex"] == ["The sex does not match the ID number."]
    assert "does not match the ID number" in errors["birth_date"][0]


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"name": ""}, "name", "The name is empty."),
        ({"name": "张三", "id_number": "1.10105E+17"}, "id_number", "Excel turned this ID number"),
        ({"name": "张三", "id_number": "110105194912310000"}, "id_number", "last digits of"),
        ({"name": "张三", "id_number": "110105194912310021"}, "id_number", "check digit is wrong"),
        ({"name": "张三"}, "id_number", "Give the ID number, or the reason there is none."),
        ({"name": "张三", "id_type": "无"}, None, None),
        ({"name": "张三", "id_type": "护照", "id_number": "E1234567"}, None, None),
        (
            {"name": "张三", "id_type": "护照", "id_number": "E1"},
            "id_number",
            "not a valid document",
        ),
        (
            {"name": "张三", "no_id_reason": "新生儿未办证", "phone": "12345678901"},
            "phone",
            "not a mainland mobile",
        ),
        (
            {"name": "张三", "no_id_reason": "x", "birth_date": "2022-02-30"},
            "birth_date",
            "not a real date",
        ),
        (
            {"name": "张三", "no_id_reason": "x", "birth_date": "2099-01-01"},
            "birth_date",
            "in the future",
        ),
        (
            {"name": "张三", "no_id_reason": "x", "relationship": "表舅"},
            "relationship",
            "not a known",
        ),
        (
            {"name": "张三", "no_id_reason": "x", "tags": "独居、外星人"},
            "tags",
            "外星人 is not a known tag",
        ),
    ],
)
def test_clean_person_errors(raw, field, message):
    person, errors = clean(**raw)
    if field is None:
        assert not errors and person is not None
    else:
        assert person is None and any(message in m for m in errors[field]), errors


def test_dates_and_damage():
    assert parse_date("44562", today=TODAY) == date(2022, 1, 1)  # Excel serial day
    assert parse_date("2022/7/3", today=TODAY) == date(2022, 7, 3)
    assert parse_date("20220703", today=TODAY) == date(2022, 7, 3)
    assert explain_id_damage("1.10105E+17") is not None
    assert explain_id_damage("110105194912310000") is not None
    assert explain_id_damage(ZHANG) is None


@pytest.fixture
def household(world):
    return household_create(
        jurisdiction=world.nodes["A1M1"], village_group="3组", street="河街", house_number="12号"
    )


@pytest.mark.django_db
def test_register_update_history_and_rules(world, household):
    data, _e = clean(name="張偉", id_number=ZHANG, phone="13912345678", tags="独居")
    person = person_register(data=data, household=household, actor=world.users["cadre_a"])
    assert household.address == "四喜社区 3组 河街12号"
    assert (person.name_key, person.name_initials, person.jurisdiction) == (
        "张伟",
        "zw",
        world.nodes["A1M1"],
    )
    assert list(person.tags.values_list("tag", flat=True)) == [Tag.LIVING_ALONE]
    with pytest.raises(ValidationError):  # the same ID twice
        person_register(data=data, household=household)
    update, _e = clean(name="张伟", id_number=ZHANG, phone="13912345679", tags="")
    changed = person_update(
        person=person, data=update, actor=world.users["cadre_a"], source="import:x.xlsx"
    )
    assert changed == ["name", "phone", "tags"]
    change = PersonChange.objects.filter(person=person)[0]
    assert change.source == "import:x.xlsx"
    assert change.changes["phone"] == ["139****5678", "139****5679"]  # masked history
    assert person_update(person=person, data=update) == []  # no change, no history
    assert PersonChange.objects.filter(person=person).count() == 2
    with pytest.raises(ValidationError):  # households go on leaves only
        household_create(jurisdiction=world.nodes["A1"])


@pytest.fixture
def registry(world, household):
    people = [
        {"name": "張偉", "id_number": ZHANG, "phone": "13912345678", "tags": "独居"},
        {"name": "李小明", "id_number": "110101199003070011", "phone": "13712345678"},
        {"name": "欧阳娜娜", "id_type": "无", "no_id_reason": "新生儿", "birth_date": "2026-03-01"},
    ]
    made = []
    for raw in people:
        data, errors = clean(**raw)
        assert data is not None, errors
        made.append(person_register(data=data, household=household))
    b1 = household_create(jurisdiction=world.nodes["B1"], street="光明路", house_number="1号")
    data, _e = clean(name="张伟", id_number="110101199003070046", phone="13812345678")
    made.append(person_register(data=data, household=b1))
    return made


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("张伟", ["張偉"]),
        ("張偉", ["張偉"]),
        ("张", ["張偉"]),
        ("zw", ["張偉"]),
        ("ZW", ["張偉"]),
        ("oynn", ["欧阳娜娜"]),
        ("002X", ["張偉"]),
        ("002x", ["張偉"]),
        ("0011", ["李小明"]),
        ("13712345678", ["李小明"]),
        ("+86 137 1234 5678", ["李小明"]),
        (ZHANG.lower(), ["張偉"]),
        ("王", []),
    ],
)
def test_search_is_scoped_and_understands_every_kind_of_query(world, registry, query, expected):
    cadre = world.users["cadre_a"]  # village A: the B1 张伟 must never appear
    found = selectors.person_list(cadre, selectors.PersonFilters(q=query), today=TODAY)
    assert sorted(p.name for p in found) == sorted(expected)
    commander = selectors.person_list(
        world.users["commander"], selectors.PersonFilters(q="zw"), today=TODAY
    )
    assert sorted(p.name for p in commander) == ["张伟", "張偉"]


@pytest.mark.django_db
def test_registers_and_age_bands(world, registry):
    commander = world.users["commander"]
    alone = selectors.register_list(commander, "elderly_alone", today=TODAY)
    assert [p.name for p in alone] == ["張偉"]
    infants = selectors.register_list(commander, "infants", today=TODAY)
    assert [p.name for p in infants] == ["欧阳娜娜"]
    over60 = selectors.person_list(commander, selectors.PersonFilters(age="60+"), today=TODAY)
    assert [p.name for p in over60] == ["張偉"]
    assert selectors.register_list(world.users["gw_b1"], "elderly_alone", today=TODAY).count() == 0


@pytest.mark.django_db
def test_pages_mask_and_audit(world, registry, login):
    zhang = registry[0]
    gw = login("gw_a1")
    page = gw.get("/people/?q=zw")
    text = page.content.decode()
    assert (
        page.status_code == 200
        and "張偉" in text
        and ZHANG not in text
        and "110***********002X" in text
    )
    detail = gw.get(f"/people/p/{zhang.pk}/").content.decode()
    assert "13912345678" not in detail and "139****5678" in detail
    shown = gw.post(f"/people/p/{zhang.pk}/unmask/", {"purpose": "上门核实身份"})
    assert ZHANG in shown.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.VIEW_PII)
    assert event.purpose == "上门核实身份" and event.object_id == str(zhang.pk)
    assert gw.get(f"/people/p/{registry[3].pk}/").status_code == 404  # B1: not theirs
    htmx = gw.get("/people/?q=lxm", HTTP_HX_REQUEST="true")
    assert "李小明" in htmx.content.decode() and "<nav" not in htmx.content.decode()


@pytest.mark.django_db
def test_forms_validate_in_chinese_and_record_history(world, household, login):
    gw = login("gw_a1")
    bad = gw.post(
        f"/people/h/{household.pk}/add/",
        {
            "name": "王五",
            "id_type": "ric",
            "id_number": "110105194912310021",
            "residency": "huji",
            "status": "present",
        },
    )
    assert bad.status_code == 400 and "身份证号校验位错误" in html.unescape(bad.content.decode())
    ok = gw.post(
        f"/people/h/{household.pk}/add/",
        {
            "name": "王五",
            "id_type": "ric",
            "id_number": "110101199003070054",
            "residency": "huji",
            "status": "present",
            "tags": ["chronic"],
        },
    )
    person = Person.objects.get(name="王五")
    assert ok.status_code == 302 and person.sex == "M" and person.household == household
    edit = gw.post(
        f"/people/p/{person.pk}/edit/",
        {
            "name": "王五",
            "id_type": "ric",
            "id_number": "110101199003070054",
            "residency": "liudong",
            "status": "away",
            "away_where": "长沙",
            "phone": "13512345678",
        },
    )
    assert edit.status_code == 302
    person.refresh_from_db()
    assert (person.residency, person.status, person.phone) == ("liudong", "away", "13512345678")
    last = person.changes.all()[0]
    assert last.actor == world.users["gw_a1"] and last.changes["phone"] == ["", "135****5678"]
    # A household outside the grid worker's scope cannot take members.
    b1 = household_create(jurisdiction=world.nodes["B1"])
    assert gw.post(f"/people/h/{b1.pk}/add/", {"name": "x"}).status_code == 404
    new_household = gw.post("/people/h/new/", {"node": "330411102201-G01", "housing_type": "owned"})
    assert new_household.status_code == 400  # A1 has micro-grids: households go on A1M1
    assert "micro-grid" in html.unescape(
        new_household.content.decode()
    ) or "微网格" in html.unescape(new_household.content.decode())
    made = gw.post(
        "/people/h/new/",
        {
            "node": "330411102201-G01-M01",
            "housing_type": "rented",
            "street": "新街",
            "house_number": "3号",
        },
    )
    assert made.status_code == 302 and Household.objects.filter(street="新街").exists()


def _csv(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.mark.django_db
def test_export_masked_unmasked_neutralised_and_audited(world, registry, login):
    data, _e = clean(name="=HYPERLINK(1)", no_id_reason="测试")
    person_register(data=data, household=registry[0].household)
    cadre = login("cadre_a")
    rows = _csv(cadre.get("/people/export.csv"))
    names = [r[0] for r in rows[1:]]
    assert "张伟" not in names and "'=HYPERLINK(1)" in names  # scoped; formula neutralised
    assert all(ZHANG not in cell for r in rows for cell in r)
    # One character is not a purpose (two are: 核对).
    assert cadre.get("/people/export.csv?unmask=1&purpose=%E6%A0%B8").status_code == 400
    full = _csv(
        cadre.get("/people/export.csv?unmask=1&purpose=%E6%A0%B8%E5%AF%B9%E5%90%8D%E5%8D%95")
    )
    assert any(ZHANG in r for r in full)
    events = AuditEvent.objects.filter(action=AuditAction.EXPORT)
    assert events.filter(detail__unmasked=True, purpose="核对名单").count() == 1
    xlsx = cadre.get("/people/export.xlsx?age=60%2B")
    book = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)), read_only=True)
    sheet_rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert [r[0] for r in sheet_rows[1:]] == ["張偉"] and sheet_rows[1][5] == "110***********002X"
    assert login("gw_a1").get("/people/export.csv").status_code == 403


@pytest.mark.django_db
def test_export_cli(world, registry, tmp_path):
    out = tmp_path / "a.xlsx"
    call_command("export", "people", "--jurisdiction", "330411102201", "-o", str(out))
    rows = list(load_workbook(out, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 4 and all(ZHANG not in str(r) for r in rows)
    csv_out = tmp_path / "b.csv"
    call_command(
        "export",
        "people",
        "--jurisdiction",
        "330411102000",
        "-o",
        str(csv_out),
        "--unmask",
        "--purpose",
        "县里核查",
    )
    assert ZHANG in csv_out.read_text(encoding="utf-8-sig")
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, purpose="县里核查").exists()


def test_traditional_script_words_and_headers():
    from fangkong.core.tabular import map_headers

    person, errors = clean(
        name="陳大文", no_id_reason="x", residency="暫住", tags="獨居、慢性病", relationship="戶主"
    )
    assert not errors and person is not None
    assert (person.residency, person.relationship) == ("liudong", "head")
    assert person.tags == {Tag.LIVING_ALONE, Tag.CHRONIC}
    assert map_headers(
        ["姓名", "身份證號", "聯繫電話"], {"id_number": ("身份证号",), "phone": ("联系电话",)}
    ) == {"id_number": 1, "phone": 2}
