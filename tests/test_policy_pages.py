"""Rules pages: the risk-area catalogue by hand and by spreadsheet (with its history and
all-or-nothing import), local editions, the engine's try-out page, division pickers."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from fangkong.audit.models import AuditEvent
from fangkong.core.models import Upload
from fangkong.policy.engine import Origin, decide
from fangkong.policy.models import Edition, Measure, RiskArea, RiskAreaChange

pytestmark = pytest.mark.django_db


def _sheet(wb: Workbook) -> Worksheet:
    ws = wb.active
    assert isinstance(ws, Worksheet)
    return ws


@pytest.fixture
def admin(login):
    """The county's command post: the risk-area catalogue serves every town, so it is
    kept from the top of the tree."""
    client = login("county")
    client.cookies["django_language"] = "en"
    return client


def test_an_area_is_added_edited_and_lifted_with_its_history(admin):
    response = admin.post(
        "/policy/areas/new/",
        {
            "code": "310115005",
            "place": "",
            "level": "medium",
            "effective_from": "2022-07-01",
            "source": "上海市卫健委 2022-07-01",
            "note": "通报",
        },
    )
    assert response.status_code == 302
    area = RiskArea.objects.get()
    assert area.name == "上海市浦东新区陆家嘴街道" and area.level == "medium"
    url = f"/policy/areas/{area.pk}/"
    assert (
        admin.post(
            url,
            {
                "action": "edit",
                "code": "310115005",
                "level": "high",
                "effective_from": "2022-07-01",
                "source": "上海市卫健委 2022-07-02",
                "note": "升级",
            },
        ).status_code
        == 302
    )
    assert (
        admin.post(url, {"action": "lift", "on": "2022-07-20", "note": "7天无新增"}).status_code
        == 302
    )
    area.refresh_from_db()
    assert (area.level, area.effective_to, area.version) == ("high", date(2022, 7, 20), 2)
    changes = list(RiskAreaChange.objects.filter(area=area))
    assert [c.action for c in changes] == ["created", "updated", "lifted"]
    assert ("level", "medium", "high") in changes[1].diff
    assert changes[2].diff == [("effective_to", None, "2022-07-20")]
    page = admin.get(url).content.decode()
    assert "medium → high" in page and "7天无新增" in page


def test_a_bad_area_is_refused_with_the_reason_and_changes_nothing(admin, login):
    response = admin.post(
        "/policy/areas/new/",
        {
            "code": "310199999",
            "level": "high",
            "effective_from": "2022-07-05",
            "effective_to": "2022-07-01",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "310199999 is not in the national division codes" in body
    assert not RiskArea.objects.exists()
    # A village cadre reads the catalogue but does not change it.
    cadre = login("cadre_a")
    assert cadre.get("/policy/areas/").status_code == 200
    assert cadre.post("/policy/areas/new/", {"code": "310115005"}).status_code == 403


def _csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("areas.csv", text.encode("utf-8-sig"), "text/csv")


GOOD = """省,市,区县,街道,具体区域,风险等级,起始日期,解除日期,依据
上海市,,浦东新区,陆家嘴街道,,高风险,2022-07-01,,沪卫通〔2022〕1号
上海,,浦东新区,周家渡街道,某某花园,中風險區,2022/7/2,2022年7月12日,
广东省,深圳市,南山区,,,低,2022-07-03,,
"""


def _import(admin, upload):
    response = admin.post("/policy/areas/import/", {"file": upload, "source": "县指挥部转发"})
    if response.status_code != 200 or "upload" not in response.context:
        return response, None
    return response, response.context["upload"].pk


def test_a_list_is_checked_then_imported_whole_and_again_changes_nothing(admin):
    response, upload_id = _import(admin, _csv(GOOD))
    assert response.status_code == 200 and upload_id, response.content.decode()[:2000]
    assert not RiskArea.objects.exists()  # nothing until confirmed
    done = admin.post("/policy/areas/import/", {"upload_id": upload_id, "source": "县指挥部转发"})
    assert "Imported: 3 new, 0 updated, 0 unchanged." in done.content.decode()
    rows = {a.name: a for a in RiskArea.objects.all()}
    garden = rows["上海市浦东新区周家渡街道某某花园"]
    assert (garden.level, garden.effective_to, garden.source) == (
        "medium",
        date(2022, 7, 12),
        "县指挥部转发",
    )
    assert rows["广东省深圳市南山区"].code == "440305"
    assert not Upload.objects.exists()
    assert AuditEvent.objects.filter(action="import", object_repr="risk areas: areas.csv").exists()
    _response, upload_id = _import(admin, _csv(GOOD))
    again = admin.post("/policy/areas/import/", {"upload_id": upload_id, "source": "县指挥部转发"})
    assert "Imported: 0 new, 0 updated, 3 unchanged." in again.content.decode()
    assert RiskArea.objects.count() == 3 and RiskAreaChange.objects.count() == 3
    # The catalogue now drives the engine.
    assert (
        decide(date(2022, 7, 3), [Origin("310115005", date(2022, 7, 2))]).category == "arrival_high"
    )


def test_an_xlsx_list_with_codes_and_a_title_row_imports(admin):
    wb = Workbook()
    ws = _sheet(wb)
    ws.append(["全国中高风险地区名单（2022年7月5日）"])
    ws.merge_cells("A1:D1")
    ws.append(["地区代码", "风险区域", "风险等级", "起始日期"])
    ws.append(["310115005", "", "高", date(2022, 7, 1)])
    ws.append(["440305", "", "管控区", "2022-07-02"])
    data = io.BytesIO()
    wb.save(data)
    upload = SimpleUploadedFile("list.xlsx", data.getvalue())
    response, upload_id = _import(admin, upload)
    assert upload_id, response.content.decode()[:3000]
    admin.post("/policy/areas/import/", {"upload_id": upload_id})
    assert sorted(RiskArea.objects.values_list("code", "level")) == [
        ("310115005", "high"),
        ("440305", "controlled"),
    ]


def test_every_bad_row_is_named_and_nothing_is_imported(admin):
    bad = (
        GOOD
        + "\n".join(
            [
                "上海市,,浦东新区,陆家嘴街道,,极高,2022-07-01,,",  # level
                "上海市,,浦东新区,陆家嘴街道,,高,2022-13-01,,",  # date
                "上海市,,浦西区,,,高,2022-07-01,,",  # no such county
                "上海市,,浦东新区,陆家嘴街道,,高,2022-07-05,2022-07-01,",  # lifted before start
            ]
        )
        + "\n"
    )
    response, upload_id = _import(admin, _csv(bad))
    assert response.status_code == 400 and upload_id is None
    errors = response.context["plan"].errors
    assert [(row, column) for row, column, _why in errors] == [
        (5, "风险等级"),
        (6, "起始日期"),
        (7, "区县"),
        (8, "解除日期"),
    ]
    whys = " | ".join(why for *_rc, why in errors)
    assert "Unknown risk level “极高”" in whys and "浦西区" in whys and "lifted after" in whys
    assert not RiskArea.objects.exists()


def test_a_file_without_the_needed_columns_says_which(admin):
    response, _upload = _import(admin, _csv("名称,备注\n甲,乙\n"))
    assert response.status_code == 400
    assert {c for _r, c, _w in response.context["plan"].errors} == {
        "地区代码",
        "风险等级",
        "起始日期",
    }


def test_a_local_edition_is_copied_changed_and_applied(login, world):
    # A town's commander makes the town's own edition.
    admin = login("commander")
    nat9 = Edition.objects.get(key="nat-9")
    response = admin.post(
        f"/policy/editions/{nat9.pk}/copy/", {"name": "王店镇细则", "effective_from": "2022-07-01"}
    )
    local = Edition.objects.get(name="王店镇细则")
    assert response["Location"] == f"/policy/editions/{local.pk}/"
    assert local.scope == world.nodes["T"] and local.based_on == nat9
    assert local.measures.count() == nat9.measures.count()
    page = admin.get(f"/policy/editions/{local.pk}/")
    formset = page.context["formset"]
    data = {f"form-{k}": v for k, v in formset.management_form.initial.items()}
    data |= {
        "name": "王店镇细则",
        "effective_from": "2022-07-01",
        "effective_to": "2022-11-11",
        "contact_lookback_days": "4",
        "arrival_window_days": "7",
        "day_one": "next_day",
        "source": "镇指挥部 2022-07-01",
        "notes": "",
    }
    for i, form in enumerate(formset.forms):
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            if form.instance.category == "arrival_medium" and name in ("place", "tests"):
                value = {"place": "central", "tests": "1，3、5"}[name]
            if isinstance(value, bool):
                if value:
                    data[f"form-{i}-{name}"] = "on"
                continue
            data[f"form-{i}-{name}"] = "" if value is None else value
    saved = admin.post(f"/policy/editions/{local.pk}/", data)
    assert saved.status_code == 302, saved.content.decode()[:3000]
    local.refresh_from_db()
    assert local.contact_lookback_days == 4
    medium = Measure.objects.get(edition=local, category="arrival_medium")
    assert (medium.place, medium.tests) == ("central", [1, 3, 5])
    # National editions stay as shipped: seen, and refused when changed.
    assert admin.post(f"/policy/editions/{nat9.pk}/", data).status_code == 403
    assert Measure.objects.get(edition=nat9, category="arrival_medium").place == "home_isolation"
    RiskArea.objects.create(
        code="310115005", name="陆家嘴街道", level="medium", effective_from=date(2022, 7, 1)
    )
    decision = decide(
        date(2022, 7, 3), [Origin("310115005", date(2022, 7, 2))], path=world.nodes["A1"].path
    )
    assert decision.edition == local and decision.place == "central"


def test_the_check_page_explains_a_decision(admin):
    RiskArea.objects.create(
        code="310115005",
        name="上海市浦东新区陆家嘴街道",
        level="high",
        effective_from=date(2022, 7, 1),
    )
    page = admin.get(
        "/policy/check/", {"on": "2022-07-03", "code": "310115005", "left_on": "2022-07-02"}
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "Centralised isolation 7 days (July 3, 2022 to July 9, 2022)" in text
    missing = admin.get("/policy/check/", {"on": "2022-07-03", "code": "310115005"})
    assert "When did they leave?" in missing.content.decode()


def test_division_pickers_are_public_and_refuse_nonsense(login):
    anonymous = login("anonymous")
    response = anonymous.get("/policy/divisions/", {"parent": "3101"})
    assert (
        response.status_code == 200
        and '<option value="310115">浦东新区</option>' in response.content.decode()
    )
    assert "北京市" in anonymous.get("/policy/divisions/").content.decode()
    assert anonymous.get("/policy/divisions/", {"parent": "31<script>"}).status_code == 404
