"""The vulnerable-people register of 四喜社区: a dialysis patient and an elder living
alone of 幸福小区 1栋 (封控区), and a chemotherapy patient entered by hand, each with a
contact person (包联干部) and needs. While sealed they get a daily check by their contact
(one work order a day, however often the job runs; the outcome recorded from the
contact's phone), their requests go by the green channel whatever they ask for, and
a dialysis patient's request reaches the medical group within the target. Elders on
the meal list get one meal a day from the store's stock: a retried phone is one meal,
an empty store refuses by name and takes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from fangkong.assist.care import care_checks_open, care_set, meal_issue
from fangkong.assist.kinds import CARE_CHECK_KIND
from fangkong.assist.models import HelpRequest, RequestKind
from fangkong.assist.models_care import CareCheck, CareEntry, Meal
from fangkong.assist.models_supplies import Item, Move, Stock
from fangkong.assist.selectors import register_people, register_rows
from fangkong.assist.services import request_create
from fangkong.assist.supplies import receive, store_create
from fangkong.audit.models import AuditEvent
from fangkong.notify.models import Notice
from fangkong.org.models import StaffKind
from fangkong.org.services import staff_create
from fangkong.people.models import PersonTag
from fangkong.policy.models import Edition
from fangkong.workorders.services import order_complete
from fangkong.zones.models import Place
from fangkong.zones.places import places_derive
from fangkong.zones.services import zones_delineate
from tests.world import ensure_registry
from tests.zones_support import build_compound

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed(world):
    commander = world.users["commander"]
    ensure_registry(world)
    compound = build_compound(world)
    places_derive(actor=commander, village=world.nodes["A"])
    zones_delineate(
        actor=commander,
        place=Place.objects.get(name="1栋"),
        reason="病例",
        edition=Edition.objects.get(key="nat-8"),
    )
    people = compound.people
    PersonTag.objects.create(person=people["楼丙"], tag="dialysis")
    PersonTag.objects.create(person=people["楼甲"], tag="alone")
    return people


def test_the_register_lists_tagged_people_masked_and_takes_a_scoped_contact(world, sealed):
    cadre, gw_a1, gw_b1 = world.users["cadre_a"], world.users["gw_a1"], world.users["gw_b1"]
    today = timezone.localdate()
    rows = register_rows(register_people(cadre, today=today), today=today)
    mine = {r.person.pk: r for r in rows}
    assert sealed["楼丙"].pk in mine and sealed["楼甲"].pk in mine
    assert sealed["楼乙"].pk not in mine  # no tag, not entered
    dialysis = mine[sealed["楼丙"].pk]
    assert dialysis.name == "楼*" and dialysis.groups == ["透析"] and dialysis.village == "四喜社区"
    # Another village's staff sees none of them, and cannot be their contact.
    assert not {p.pk for p in register_people(gw_b1, today=today)} & set(mine)
    with pytest.raises(ValidationError) as refused:
        care_set(actor=cadre, person=sealed["楼丙"], contact=gw_b1, needs="", meals=False)
    assert "contact" in refused.value.message_dict
    assert not CareEntry.objects.exists()
    with pytest.raises(PermissionDenied):
        care_set(actor=gw_b1, person=sealed["楼丙"], contact=None, needs="", meals=False)
    with pytest.raises(ValidationError) as long:
        care_set(actor=cadre, person=sealed["楼丙"], contact=gw_a1, needs="长" * 301, meals=False)
    assert "needs" in long.value.message_dict
    entry, new = care_set(
        actor=cadre, person=sealed["楼丙"], contact=gw_a1, needs="周二周五透析", meals=False
    )
    assert new and entry.contact == gw_a1
    again, new_again = care_set(
        actor=cadre, person=sealed["楼丙"], contact=gw_a1, needs="周二周五透析", meals=False
    )
    assert not new_again and again.pk == entry.pk
    # Needs are personal data: encrypted at rest.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT needs FROM assist_careentry WHERE id = %s", [entry.pk])
        stored = cursor.fetchone()[0]
    assert "透析" not in stored
    assert AuditEvent.objects.filter(object_repr__startswith=f"care register {entry.pk}").exists()


def test_a_chemotherapy_patient_entered_by_hand_asks_by_the_green_channel(world, sealed):
    cadre, gw_a1 = world.users["cadre_a"], world.users["gw_a1"]
    doctor = staff_create(
        username="wd_doctor3",
        name="王店医生丙",
        kind=StaffKind.MEDICAL,
        jurisdiction=world.nodes["T"],
        phone="13900000096",
    )
    patient = sealed["楼丁"]  # no registry tag
    supplies = RequestKind.objects.get(code="supplies")
    assert not supplies.green
    care_set(actor=cadre, person=patient, contact=gw_a1, needs="化疗中，免疫力低", meals=False)
    req, _new = request_create(
        person=patient,
        kind=supplies,
        channel="phone",
        detail="需要蔬菜",
        client_id=uuid.uuid4(),
        actor=cadre,
    )
    assert req.green and req.due_at - req.created_at == timedelta(minutes=30)
    assert Notice.objects.filter(user=doctor.user, key=f"assist:{req.pk}").exists()


def test_a_dialysis_patients_request_reaches_the_medical_group_within_the_target(world, sealed):
    cadre, gw_a1 = world.users["cadre_a"], world.users["gw_a1"]
    doctor = staff_create(
        username="wd_doctor4",
        name="王店医生丁",
        kind=StaffKind.MEDICAL,
        jurisdiction=world.nodes["T"],
        phone="13900000095",
    )
    patient = sealed["楼丙"]
    care_set(actor=cadre, person=patient, contact=gw_a1, needs="周二周五透析", meals=False)
    # The patient asks for medicine, an ordinary kind: the register makes it green.
    medicine = RequestKind.objects.get(code="medicine")
    assert medicine.target_minutes > 30 and not medicine.green
    before = timezone.now()
    req, _new = request_create(
        person=patient,
        kind=medicine,
        channel="door",
        detail="透析用药",
        client_id=uuid.uuid4(),
        actor=gw_a1,
    )
    assert req.green and req.due_at - req.created_at == timedelta(minutes=30)
    notice = Notice.objects.get(user=doctor.user, key=f"assist:{req.pk}")
    assert notice.created_at - before < timedelta(minutes=30)
    assert notice.created_at <= req.due_at
    assert "楼丙" not in notice.title and "楼*" in notice.title
    order = req.work_order
    assert order is not None and order.due_at == req.due_at and order.priority > 0


def test_daily_checks_by_the_contact_once_a_day(world, sealed):
    cadre, gw_a1 = world.users["cadre_a"], world.users["gw_a1"]
    care_set(actor=cadre, person=sealed["楼丙"], contact=gw_a1, needs="透析", meals=False)
    care_set(actor=cadre, person=sealed["楼甲"], contact=None, needs="", meals=True)
    # 楼戊 lives in 2栋 (管控区 of the compound): controlled, so checked too; 2栋 people
    # outside any zone would not be.
    care_set(actor=cadre, person=sealed["楼戊"], contact=cadre, needs="", meals=False)
    now = timezone.now()
    assert care_checks_open(now=now) == 2  # 楼甲 has no contact yet
    assert care_checks_open(now=now) == 0  # the job ran twice
    checks = {c.entry.person_id: c for c in CareCheck.objects.select_related("entry")}
    assert set(checks) == {sealed["楼丙"].pk, sealed["楼戊"].pk}
    check = checks[sealed["楼丙"].pk]
    order = check.work_order
    assert order is not None
    assert (order.kind, order.assignee_id) == (CARE_CHECK_KIND, gw_a1.pk)
    assert "楼丙" not in order.title
    # Recorded from the contact's phone (a retried submit is one result).
    done = uuid.uuid4()
    for _ in range(2):
        order_complete(
            order_id=order.pk,
            actor=gw_a1,
            result={"outcome": "needs_help", "note": "药快用完"},
            client_id=done,
        )
    check.refresh_from_db()
    assert (check.outcome, check.note, check.done_by) == ("needs_help", "药快用完", gw_a1)
    # The next day brings the next check.
    assert care_checks_open(now=now + timedelta(days=1)) == 2
    assert CareCheck.objects.filter(entry__person=sealed["楼丙"]).count() == 2


def test_nobody_outside_a_zone_or_control_is_checked(world):
    cadre, gw_a1 = world.users["cadre_a"], world.users["gw_a1"]
    ensure_registry(world)
    person = world.persons["A1M1"]
    care_set(actor=cadre, person=person, contact=gw_a1, needs="", meals=False)
    assert care_checks_open() == 0


def _stocked_store(world):
    cadre = world.users["cadre_a"]
    store = store_create(actor=cadre, jurisdiction=world.nodes["A"], name="四喜食堂")
    lunch = Item.objects.get(code="lunch")
    assert lunch.per_meal == 1 and lunch.per_package == 0
    receive(
        actor=cadre,
        store=store,
        kind="purchase",
        lines=[(lunch, 1)],
        client_id=uuid.uuid4(),
    )
    return store, lunch


def test_meals_for_elders_on_the_meal_list(world, sealed):
    cadre = world.users["cadre_a"]
    store, lunch = _stocked_store(world)
    elder, _new = care_set(actor=cadre, person=sealed["楼甲"], contact=None, needs="", meals=True)
    other, _new = care_set(actor=cadre, person=sealed["楼丙"], contact=None, needs="", meals=True)
    listed, _new = care_set(actor=cadre, person=sealed["楼乙"], contact=None, needs="", meals=False)
    first = uuid.uuid4()
    meal, new = meal_issue(actor=cadre, store=store, entry=elder, client_id=first)
    again, new_again = meal_issue(actor=cadre, store=store, entry=elder, client_id=first)
    assert new and not new_again and again.pk == meal.pk
    assert Stock.objects.get(store=store, item=lunch).quantity == 0
    assert Move.objects.filter(meal=meal).count() == 1
    with pytest.raises(ValidationError) as twice:
        meal_issue(actor=cadre, store=store, entry=elder, client_id=uuid.uuid4())
    assert "今天已领餐" in str(twice.value.message_dict["person"])
    # The store has no lunch left: refused by name, nothing taken, nothing recorded.
    with pytest.raises(ValidationError) as empty:
        meal_issue(actor=cadre, store=store, entry=other, client_id=uuid.uuid4())
    assert "午餐" in str(empty.value.message_dict["store"])
    assert Meal.objects.count() == 1 and Stock.objects.get(store=store, item=lunch).quantity == 0
    with pytest.raises(ValidationError):
        meal_issue(actor=cadre, store=store, entry=listed, client_id=uuid.uuid4())
    with pytest.raises(PermissionDenied):
        meal_issue(actor=world.users["gw_b1"], store=store, entry=other, client_id=uuid.uuid4())


def test_register_and_meal_pages_and_api(world, sealed):
    cadre, gw_a1 = world.users["cadre_a"], world.users["gw_a1"]
    store, _lunch = _stocked_store(world)
    client = Client()
    client.force_login(cadre)
    page = client.get("/assist/care/")
    body = page.content.decode()
    assert page.status_code == 200 and "楼*" in body and "楼丙" not in body
    url = f"/assist/care/{sealed['楼甲'].pk}/"
    assert client.get(url).status_code == 200
    bad = client.post(url, {"contact": "999999", "needs": "", "meals": "on"})
    assert bad.status_code == 200 and not CareEntry.objects.exists()
    ok = client.post(url, {"contact": str(gw_a1.pk), "needs": "独居，需送餐", "meals": "on"})
    assert ok.status_code == 302
    entry = CareEntry.objects.get(person=sealed["楼甲"])
    assert entry.contact == gw_a1 and entry.meals
    # A meal recorded on the meal page, the same form posted twice.
    meals_url = f"/assist/stores/{store.pk}/meals/"
    assert "楼*" in client.get(meals_url).content.decode()
    form = {"person": str(sealed["楼甲"].pk), "client_id": str(uuid.uuid4())}
    assert client.post(meals_url, form).status_code == 302
    assert client.post(meals_url, form).status_code == 302
    assert Meal.objects.count() == 1
    # The API: the register, an entry, the meal list.
    api = "/api/v1/assist/care"
    listed = client.get(f"{api}/register").json()
    assert {r["name"] for r in listed} >= {"楼*"}
    person = sealed["楼丙"].pk
    put = client.put(
        f"{api}/register/{person}",
        {"contact": gw_a1.username, "needs": "透析", "meals": False},
        content_type="application/json",
    )
    assert put.status_code == 200, put.content
    assert put.json()["contact"] == gw_a1.username and put.json()["on_register"]
    refused = client.put(
        f"{api}/register/{person}",
        {"contact": world.users["gw_b1"].username},
        content_type="application/json",
    )
    assert refused.status_code == 422 and "contact" in refused.json()["errors"]
    rows = client.get(f"{api}/stores/{store.pk}/meals").json()
    assert {r["given_today"] for r in rows if r["person_id"] == sealed["楼甲"].pk} == {True}
    assert HelpRequest.objects.count() == 0
