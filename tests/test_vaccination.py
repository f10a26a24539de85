"""Vaccination: doses imported from the vaccination system's file through the one upload
pipeline (all or nothing, errors by row and field, a re-import changes nothing) or
entered by staff; coverage of the 60+ and 80+ by village; the mobilisation list and its
one-tap visits; transport as a work order; the bulletin's counts; who may do what."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation

from fangkong.audit.models import AuditEvent
from fangkong.core.identity import check_character
from fangkong.core.models import Upload
from fangkong.core.uploads import Refused
from fangkong.people.models import Household, Person
from fangkong.people.services import person_register
from fangkong.people.validation import clean_person
from fangkong.reports.metrics import compute
from fangkong.vaccination import selectors, services
from fangkong.vaccination.kinds import TRANSPORT_KIND, VISIT_KIND
from fangkong.vaccination.models import Contraindication, Dose, Source
from fangkong.workorders.models import WorkOrder
from tests.world import ensure_registry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def id_for(birth: date, seq: int) -> str:
    first = f"330411{birth:%Y%m%d}{seq:03d}"
    return first + check_character(first)


def resident(world, key: str, birth: date, seq: int, name: str) -> tuple[Person, str]:
    number = id_for(birth, seq)
    household = Household.objects.create(jurisdiction=world.nodes[key], address=f"{name}家")
    data, errors = clean_person({"name": name, "id_number": number}, today=date(2026, 1, 1))
    assert data is not None, errors
    return person_register(data=data, household=household), number


@pytest.fixture
def elders(world):
    """Two 60+ in A (one 80+), one 60+ in B, one young resident in A."""
    return {
        "old_a": resident(world, "A1", date(1950, 3, 1), 11, "钱老甲"),
        "older_a": resident(world, "A2", date(1940, 5, 2), 12, "孙老乙"),
        "old_b": resident(world, "B1", date(1955, 7, 3), 13, "李老丙"),
        "young_a": resident(world, "A1", date(1995, 1, 4), 14, "周少丁"),
    }


def csv_file(rows: list[list[str]], name: str = "接种.csv") -> SimpleUploadedFile:
    text = "\n".join(",".join(r) for r in [["身份证号", "剂次", "接种日期", "疫苗名称"], *rows])
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def xlsx_rows(response: Any) -> list[list[Any]]:
    """The rows of an exported workbook, read back."""
    data = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def signed_in(world, persona: str) -> Client:
    client = Client()
    client.force_login(world.users[persona])
    # The assertions read the pages' words in English.
    client.cookies["django_language"] = "en"
    return client


def test_a_file_is_checked_previewed_and_recorded_once(world, elders):
    client = signed_in(world, "commander")
    rows = [
        [elders["old_a"][1], "1", "2021-05-01", "科兴"],
        [elders["old_a"][1], "2", "2021-06-01", "科兴"],
        [elders["older_a"][1], "第1剂", "2021/07/02", "国药"],
    ]
    page = client.post("/vaccination/import/", {"file": csv_file(rows)})
    assert page.status_code == 200, page.content.decode()[:2000]
    assert Dose.objects.count() == 0  # the preview writes nothing
    assert "New doses: 3" in page.content.decode()
    upload = page.context["upload"]
    done = client.post(f"/vaccination/import/{upload.pk}/confirm/")
    assert done.status_code == 200
    assert Dose.objects.count() == 3
    assert set(Dose.objects.values_list("source", flat=True)) == {Source.IMPORT}
    assert not Upload.objects.filter(pk=upload.pk).exists()
    assert (
        AuditEvent.objects.filter(action="import", object_repr__startswith="vaccination").count()
        == 1
    )
    # The same file again: nothing new, nothing changed, not even the audit.
    again = client.post("/vaccination/import/", {"file": csv_file(rows)})
    assert "already recorded: 3" in again.content.decode()
    client.post(f"/vaccination/import/{again.context['upload'].pk}/confirm/")
    assert Dose.objects.count() == 3
    assert (
        AuditEvent.objects.filter(action="import", object_repr__startswith="vaccination").count()
        == 1
    )


def test_a_bad_date_or_unknown_id_names_row_and_field_and_changes_nothing(world, elders):
    client = signed_in(world, "commander")
    unknown = id_for(date(1950, 1, 1), 999)
    rows = [
        [elders["old_a"][1], "1", "2021-05-01", "科兴"],
        [elders["old_b"][1], "1", "2021-02-30", "科兴"],
        [unknown, "1", "2021-05-01", "科兴"],
        [elders["older_a"][1], "7", "2021-05-01", ""],
    ]
    page = client.post("/vaccination/import/", {"file": csv_file(rows)})
    assert page.status_code == 400
    errors = {(e.row, e.field) for e in page.context["plan"].errors}
    assert errors == {
        (3, "given_on"),
        (4, "id_number"),
        (5, "number"),
        (5, "product"),
    }, page.context["plan"].errors
    text = page.content.decode()
    assert "2021-02-30 is not a real date." in text
    assert "No resident with this ID number" in text
    assert "upload" not in page.context  # nothing held to confirm
    assert Dose.objects.count() == 0 and Upload.objects.count() == 0


def test_a_file_that_turned_bad_between_preview_and_confirm_writes_nothing(world, elders):
    client = signed_in(world, "commander")
    rows = [[elders["old_a"][1], "1", "2021-05-01", "科兴"]]
    page = client.post("/vaccination/import/", {"file": csv_file(rows)})
    upload = page.context["upload"]
    # The resident moved out of the commander's area meanwhile: refused whole at confirm.
    Person.objects.filter(pk=elders["old_a"][0].pk).update(jurisdiction=world.nodes["P1"])
    done = client.post(f"/vaccination/import/{upload.pk}/confirm/")
    assert done.status_code == 400
    assert Dose.objects.count() == 0
    assert Upload.objects.filter(pk=upload.pk).exists()


def test_a_xlsx_with_a_title_row_is_read(world, elders):
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["秀洲区新冠疫苗接种明细"])
    sheet.merge_cells("A1:E1")  # the export's merged title above the header
    sheet.append(["姓名", "身份证号码", "接种剂次", "接种时间", "疫苗品种"])
    sheet.append(["钱老甲", elders["old_a"][1], 1, "2021-05-01 09:30:00", "智飞"])
    buffer = io.BytesIO()
    book.save(buffer)
    client = signed_in(world, "commander")
    page = client.post(
        "/vaccination/import/",
        {"file": SimpleUploadedFile("export.xlsx", buffer.getvalue())},
    )
    assert page.status_code == 200, page.context["form"].errors
    client.post(f"/vaccination/import/{page.context['upload'].pk}/confirm/")
    dose = Dose.objects.get()
    assert (dose.number, dose.given_on, dose.product) == (1, date(2021, 5, 1), "智飞")


def test_the_api_import_is_all_or_nothing_and_idempotent(world, elders):
    client = signed_in(world, "commander")
    good = {"id_number": elders["old_b"][1], "dose": "1", "date": "2021-05-01", "product": "科兴"}
    bad = {**good, "date": "yesterday"}
    answer = client.post(
        "/api/v1/vaccination/doses/import",
        json.dumps({"rows": [good, bad]}),
        content_type="application/json",
    )
    assert answer.status_code == 422
    assert "rows.2.date" in answer.json()["errors"]
    assert Dose.objects.count() == 0
    for expected in ((1, 0), (0, 1)):
        answer = client.post(
            "/api/v1/vaccination/doses/import",
            json.dumps({"rows": [good]}),
            content_type="application/json",
        )
        assert answer.status_code == 200, answer.content
        assert (answer.json()["new"], answer.json()["unchanged"]) == expected
    assert Dose.objects.count() == 1


def test_the_file_of_another_town_s_residents_is_refused_for_this_commander(world, elders):
    # commander_u's area holds none of these ID numbers.
    client = signed_in(world, "commander_u")
    page = client.post(
        "/vaccination/import/",
        {"file": csv_file([[elders["old_a"][1], "1", "2021-05-01", "科兴"]])},
    )
    assert page.status_code == 400
    assert [(e.row, e.field) for e in page.context["plan"].errors] == [(2, "id_number")]


def test_staff_entry_is_idempotent_and_refuses_a_different_dose(world, elders):
    person = elders["old_a"][0]
    commander = world.users["commander"]
    first = services.dose_record(
        person=person, number=1, given_on=date(2021, 5, 1), product="科兴", actor=commander
    )
    again = services.dose_record(
        person=person, number=1, given_on=date(2021, 5, 1), product="科兴", actor=commander
    )
    assert first.pk == again.pk and Dose.objects.count() == 1
    with pytest.raises(ValidationError) as e:
        services.dose_record(
            person=person, number=1, given_on=date(2021, 6, 1), product="科兴", actor=commander
        )
    assert "number" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        services.dose_record(
            person=person,
            number=2,
            given_on=timezone.localdate() + timedelta(days=1),
            product="科兴",
            actor=commander,
        )
    assert "given_on" in e.value.message_dict
    # A grid worker sees vaccination but does not record it.
    with pytest.raises(PermissionDenied):
        services.dose_record(
            person=person,
            number=2,
            given_on=date(2021, 6, 1),
            product="科兴",
            actor=world.users["gw_a1"],
        )


def test_staff_pages_record_a_dose_and_refuse_bad_input_by_field(world, elders):
    person = elders["old_a"][0]
    client = signed_in(world, "cadre_a")
    page = client.get(f"/vaccination/person/{person.pk}/")
    assert page.status_code == 200 and person.name not in page.content.decode()
    bad = client.post(
        f"/vaccination/person/{person.pk}/dose/", {"number": "9", "given_on": "2021-13-01"}
    )
    assert bad.status_code == 400
    assert set(bad.context["dose_form"].errors) == {"number", "given_on", "product"}
    assert Dose.objects.count() == 0
    ok = client.post(
        f"/vaccination/person/{person.pk}/dose/",
        {"number": "1", "given_on": "2021-05-01", "product": "科兴"},
    )
    assert ok.status_code == 302 and Dose.objects.count() == 1
    # A grid worker reads the page but cannot record; another town does not see it.
    assert signed_in(world, "gw_a1").get(f"/vaccination/person/{person.pk}/").status_code == 200
    assert (
        signed_in(world, "gw_a1")
        .post(f"/vaccination/person/{person.pk}/dose/", {"number": "2"})
        .status_code
        == 403
    )
    assert (
        signed_in(world, "commander_u").get(f"/vaccination/person/{person.pk}/").status_code == 404
    )


def test_coverage_of_60_and_80_by_village(world, elders):
    commander = world.users["commander"]
    ensure_registry(world)  # the world's A1M1 resident is 76, present, unvaccinated
    old_a, older_a, old_b = elders["old_a"][0], elders["older_a"][0], elders["old_b"][0]
    for number in (1, 2, 3):
        services.dose_record(
            person=older_a,
            number=number,
            given_on=date(2021, number, 1),
            product="科兴",
            actor=commander,
        )
    services.dose_record(
        person=old_b, number=1, given_on=date(2021, 5, 1), product="科兴", actor=commander
    )
    cov = selectors.coverage(commander, today=timezone.localdate())
    by_village = {r.node.code: r.counts for r in cov.villages}
    a, b = world.nodes["A"].code, world.nodes["B"].code
    # A: old_a, older_a and the world's resident are 60+; older_a alone is 80+ (boosted).
    assert by_village[a][60] == [3, 1, 1, 1]
    assert by_village[a][80] == [1, 1, 1, 1]
    assert by_village[b][60] == [1, 1, 0, 0]
    assert cov.total.counts[60] == [4, 2, 1, 1]
    assert old_a.pk  # unvaccinated, counted in the residents only
    # A grid worker of A1 sees A1's part under its village only.
    mine = selectors.coverage(world.users["gw_a1"], today=timezone.localdate())
    assert [r.counts[60] for r in mine.villages] == [[2, 0, 0, 0]]


def test_mobilisation_visits_are_one_tap_and_idempotent(world, elders):
    commander = world.users["commander"]
    old_a, older_a, old_b = elders["old_a"][0], elders["older_a"][0], elders["old_b"][0]
    services.dose_record(
        person=old_b, number=1, given_on=date(2021, 5, 1), product="科兴", actor=commander
    )
    services.contraindication_set(person=older_a, reason="恶性肿瘤化疗中", actor=commander)
    listed = set(
        selectors.mobilisation(commander, today=timezone.localdate()).values_list("pk", flat=True)
    )
    assert old_a.pk in listed and older_a.pk not in listed and old_b.pk not in listed
    assert elders["young_a"][0].pk not in listed
    client = signed_in(world, "commander")
    first = client.post("/vaccination/mobilise/send/", {"node": world.nodes["A"].code})
    assert first.status_code == 200
    orders = WorkOrder.objects.filter(kind=VISIT_KIND)
    assert set(orders.values_list("subject_id", flat=True)) == (
        listed
        & set(
            Person.objects.filter(jurisdiction__path__startswith=world.nodes["A"].path).values_list(
                "pk", flat=True
            )
        )
    )
    count = orders.count()
    client.post("/vaccination/mobilise/send/", {"node": world.nodes["A"].code})
    assert WorkOrder.objects.filter(kind=VISIT_KIND).count() == count
    assert not orders.filter(subject_label__contains=old_a.name).exists()  # masked labels
    # No node: a clear refusal, nothing made.
    assert client.post("/vaccination/mobilise/send/").status_code == 400


def test_transport_is_a_work_order_once(world, elders):
    person = elders["old_a"][0]
    client = signed_in(world, "commander")
    at = (timezone.localtime() + timedelta(days=1)).replace(microsecond=0)
    body = {"site": "王店镇卫生院接种点", "at": at.isoformat()}
    first = client.post(
        f"/api/v1/vaccination/persons/{person.pk}/transport",
        json.dumps(body),
        content_type="application/json",
    )
    assert first.status_code == 201, first.content
    second = client.post(
        f"/api/v1/vaccination/persons/{person.pk}/transport",
        json.dumps(body),
        content_type="application/json",
    )
    assert second.json()["order_id"] == first.json()["order_id"]
    assert WorkOrder.objects.filter(kind=TRANSPORT_KIND).count() == 1
    past = {**body, "at": (timezone.localtime() - timedelta(hours=1)).isoformat()}
    refused = client.post(
        f"/api/v1/vaccination/persons/{person.pk}/transport",
        json.dumps(past),
        content_type="application/json",
    )
    assert refused.status_code == 422 and "at" in refused.json()["errors"]


def test_the_bulletin_counts_doses_of_the_day_and_the_unvaccinated_60(world, elders):
    commander = world.users["commander"]
    today = timezone.localdate()
    services.dose_record(
        person=elders["old_a"][0], number=1, given_on=today, product="科兴", actor=commander
    )
    services.contraindication_set(person=elders["older_a"][0], reason="过敏", actor=commander)
    villages = [world.nodes["A"], world.nodes["B"]]
    counts = compute(["vaccination_doses", "vaccination_unvaccinated_60"], villages, today)
    a, b = world.nodes["A"].pk, world.nodes["B"].pk
    assert counts[a]["vaccination_doses"] == 1
    # A: older_a has no dose (a contraindication still counts as unvaccinated).
    assert counts[a]["vaccination_unvaccinated_60"] == 1
    assert counts[b] == {"vaccination_doses": 0, "vaccination_unvaccinated_60": 1}


def test_the_mobilisation_export_is_masked_and_audited(world, elders):
    client = signed_in(world, "commander")
    response = client.get("/vaccination/mobilise/list.xlsx")
    assert response.status_code == 200
    cells = [str(c) for row in xlsx_rows(response) for c in row if c]
    assert elders["old_a"][0].name not in cells and elders["old_a"][1] not in cells
    assert any(c.startswith("钱") and "*" in c for c in cells)
    assert AuditEvent.objects.filter(action="export", object_repr__contains="mobilisation").exists()


def test_contraindication_is_cleared_from_the_list_and_recorded_once(world, elders):
    person = elders["old_a"][0]
    commander = world.users["commander"]
    services.contraindication_set(person=person, reason="过敏", actor=commander)
    services.contraindication_set(person=person, reason="过敏史，医生建议暂缓", actor=commander)
    assert Contraindication.objects.get(person=person).reason == "过敏史，医生建议暂缓"
    with pytest.raises(ValidationError):
        services.contraindication_set(person=person, reason="  ", actor=commander)


def test_the_pages_take_the_same_queries_for_few_and_many(world, elders):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = signed_in(world, "commander")

    def counts() -> list[int]:
        out = []
        for url in ("/vaccination/", "/vaccination/mobilise/"):
            with CaptureQueriesContext(connection) as seen:
                assert client.get(url).status_code == 200
            out.append(len(seen))
        return out

    few = counts()
    for i in range(15):
        resident(world, "A2", date(1945, 1, 1 + i), 100 + i, f"吴老{i:02d}")
    assert counts() == few
    assert max(few) <= 25


def test_the_demo_town_holds_doses_a_mobilisation_list_and_key_workers():
    from django.core.management import call_command

    from fangkong.testing.models_periodic import OccupationAssignment

    call_command("demo_town", "--residents", "2000")
    from fangkong.accounts.models import User

    user = User.objects.get(username="commander")
    today = timezone.localdate()
    cov = selectors.coverage(user, today=today)
    total, dosed = cov.total.counts[60][0], cov.total.counts[60][1]
    assert total > 50 and 0.6 * total < dosed < total
    assert selectors.mobilisation(user, today=today).exists()
    assert WorkOrder.objects.filter(kind=VISIT_KIND).exists()
    assert Contraindication.objects.exists()
    assert OccupationAssignment.objects.count() > 20


def test_the_system_s_correction_replaces_ours_and_a_file_giving_a_dose_twice_is_refused(
    world, elders
):
    commander = world.users["commander"]
    number = elders["old_a"][1]
    services.dose_record(
        person=elders["old_a"][0],
        number=1,
        given_on=date(2021, 5, 1),
        product="科兴",
        actor=commander,
    )
    row = {"id_number": number, "number": "1", "given_on": "2021-05-02", "product": "科兴"}
    plan = services.doses_import(rows=[(2, row)], actor=commander)
    assert (len(plan.new), len(plan.changed), plan.unchanged) == (0, 1, 0)
    dose = Dose.objects.get()
    assert dose.given_on == date(2021, 5, 2) and dose.source == Source.IMPORT
    twice = [(2, row), (3, {**row, "product": "国药"})]
    with pytest.raises(Refused) as refused:
        services.doses_import(rows=twice, actor=commander)
    assert [(e.row, e.field) for e in refused.value.payload.errors] == [(3, "number")]
    assert Dose.objects.get().product == "科兴"
