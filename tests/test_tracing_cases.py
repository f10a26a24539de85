"""Cases and contacts (issue 20): a case opened once per person, its household and
co-location contacts found once each with their reasons from real scans, contacts put
under control through control's services (or work orders when they cannot be), and the
scoping of it all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fangkong.control.models import ControlOrder, OrderSource, OrderStatus
from fangkong.org.roles import Perm
from fangkong.tracing.cases import (
    case_open,
    contact_declare,
    contacts_control,
    contacts_find,
)
from fangkong.tracing.kinds import FIND_KIND
from fangkong.tracing.models import Case, CaseStatus, Contact, ContactHow, ContactStatus
from tests.tracing_cases_support import (
    edition_in_force,
    noon,
    open_case,
    person,
    restaurant,
    scan,
    site_with_rooms,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _edition(world):
    edition_in_force(world)


def _case(world, p, days_ago: int = 1):
    return open_case(world, p, days_ago)


def test_a_case_is_opened_once_per_person_and_needs_a_date(world):
    p = person(world, "A1", "病例甲", "13700000001")
    first = _case(world, p)
    again, new = case_open(
        person=p,
        kind="asymptomatic",
        onset_on=None,
        sampled_on=timezone.localdate(),
        source="report",
        actor=world.users["commander"],
    )
    assert again == first and not new and Case.objects.count() == 1
    with pytest.raises(ValidationError) as e:
        case_open(
            person=person(world, "A1", "病例乙", "13700000002"),
            kind="confirmed",
            onset_on=None,
            sampled_on=None,
            source="manual",
            actor=world.users["commander"],
        )
    assert "onset_on" in e.value.message_dict
    with pytest.raises(PermissionDenied):
        case_open(  # the other town's commander
            person=person(world, "A1", "病例丙", "13700000003"),
            kind="confirmed",
            onset_on=timezone.localdate(),
            sampled_on=None,
            source="manual",
            actor=world.users["commander_u"],
        )
    assert Case.objects.count() == 1


def test_household_and_colocation_contacts_with_their_reasons(world):
    p = person(world, "A1", "病例甲", "13700000001")
    spouse = person(world, "A1", "病例甲配偶", "13700000011", household=p.household)
    diner = person(world, "A2", "食客乙", "13700000021")
    place = restaurant(world)
    scan(place, "13700000001", noon(2, 12, 5), "病例甲")
    scan(place, "13700000021", noon(2, 12, 20), "食客乙")
    scan(place, "13700000031", noon(2, 12, 25), "路人丙")  # not in the registry
    scan(place, "13700000041", noon(2, 15, 0), "晚来丁")  # after the case left
    case = _case(world, p)
    found = contacts_find(case=case, actor=world.users["commander"])
    assert found.household == 1 and found.colocation == 2
    contacts = {c.person_key: c for c in Contact.objects.filter(case=case)}
    by_person = {c.person_id: c for c in contacts.values() if c.person_id}
    assert by_person[spouse.pk].how == ContactHow.HOUSEHOLD
    met = by_person[diner.pk]
    assert met.how == ContactHow.COLOCATION and met.place_id == place.pk
    assert "太子农庄" in met.reason and met.overlap_minutes == 15  # 12:20 to 12:35
    stranger = next(c for c in contacts.values() if c.person_id is None)
    assert stranger.name == "路人丙" and stranger.shown_phone != "13700000031"
    # Again: nothing twice.
    assert contacts_find(case=case, actor=world.users["commander"]).total == 0
    assert Contact.objects.filter(case=case).count() == 3


def test_contacts_become_control_orders_or_work_orders(world):
    from fangkong.workorders.models import WorkOrder

    site_with_rooms(world)
    p = person(world, "A1", "病例甲", "13700000001")
    spouse = person(world, "A1", "病例甲配偶", "13700000011", household=p.household)
    place = restaurant(world)
    scan(place, "13700000001", noon(2, 12, 5))
    scan(place, "13700000031", noon(2, 12, 25), "路人丙")
    case = _case(world, p)
    contacts_find(case=case, actor=world.users["commander"])
    done = contacts_control(case=case, actor=world.users["commander"])
    assert [c.person_id for c in done.controlled] == [spouse.pk]
    order = ControlOrder.objects.get(person=spouse, status=OrderStatus.ACTIVE)
    assert order.source == OrderSource.CONTACT and order.category == "close_contact"
    assert order.exposed_on == timezone.localdate()  # lives with the case until isolated
    (unmatched,) = done.to_find
    work = WorkOrder.objects.get(pk=unmatched.work_order_id or 0)
    assert work.kind == FIND_KIND and work.due_at <= case.created_at + timedelta(hours=4)
    assert unmatched.status == ContactStatus.TO_FIND
    # Again: nothing twice.
    again = contacts_control(case=case, actor=world.users["commander"])
    assert not again.controlled and not again.to_find
    assert ControlOrder.objects.filter(person=spouse).count() == order_count(spouse)
    assert WorkOrder.objects.filter(kind=FIND_KIND).count() == 1


def order_count(p) -> int:
    return ControlOrder.objects.filter(person=p).count()


def test_a_declared_contact_with_a_clear_error(world):
    p = person(world, "A1", "病例甲", "13700000001")
    case = _case(world, p)
    with pytest.raises(ValidationError) as e:
        contact_declare(
            case=case,
            actor=world.users["commander"],
            reason="",
            last_exposure_on=timezone.localdate(),
            name="",
            phone="123",
        )
    assert {"reason", "name", "phone"} <= set(e.value.message_dict)
    contact, new = contact_declare(
        case=case,
        actor=world.users["commander"],
        reason="同车通勤",
        last_exposure_on=timezone.localdate(),
        name="同事戊",
        phone="13700000051",
    )
    assert new and contact.how == ContactHow.DECLARED and contact.person is None
    again, new = contact_declare(
        case=case,
        actor=world.users["commander"],
        reason="同车通勤",
        last_exposure_on=timezone.localdate(),
        name="同事戊",
        phone="137 0000 0051",
    )
    assert again == contact and not new


def test_cases_are_scoped_to_their_town(world):
    from fangkong.tracing.selectors import case_for_user, cases_visible

    mine = _case(world, person(world, "A1", "病例甲", "13700000001"))
    theirs, _new = case_open(
        person=person(world, "P1", "洪合病例", "13700000009"),
        kind="confirmed",
        onset_on=timezone.localdate(),
        sampled_on=None,
        source="manual",
        actor=world.users["commander_u"],
    )
    assert list(cases_visible(world.users["commander"])) == [mine]
    assert list(cases_visible(world.users["commander_u"])) == [theirs]
    assert set(cases_visible(world.users["county"])) == {mine, theirs}
    from django.http import Http404

    with pytest.raises(Http404):
        case_for_user(world.users["commander"], theirs.pk)
    with pytest.raises(PermissionDenied):
        case_for_user(world.users["cadre_a"], mine.pk, write=True)
    assert case_for_user(world.users["cadre_a"], mine.pk) == mine
    assert Perm.TRACING_VIEW


def test_control_positive_case_opens_a_tracing_case(world):
    from fangkong.control.hooks import PositiveCase
    from fangkong.tracing.cases import positive_case

    p = person(world, "A1", "病例甲", "13700000001")
    positive_case(
        PositiveCase(
            person_id=p.pk, household_id=p.household_id, on=timezone.localdate(), actor_id=None
        )
    )
    positive_case(
        PositiveCase(
            person_id=p.pk, household_id=p.household_id, on=timezone.localdate(), actor_id=None
        )
    )
    (case,) = Case.objects.all()
    assert case.source == "positive_test" and case.status == CaseStatus.OPEN
    assert case.sampled_on == timezone.localdate()


def test_pages_the_chain_view_and_its_downloads(world, login):
    import io
    from xml.etree import ElementTree

    from openpyxl import load_workbook

    from fangkong.audit.models import AuditEvent

    p = person(world, "A1", "病例甲", "13700000001")
    person(world, "A1", "病例甲配偶", "13700000011", household=p.household)
    place = restaurant(world)
    scan(place, "13700000001", noon(2, 12, 5))
    scan(place, "13700000031", noon(2, 12, 25), "路人丙")
    case = _case(world, p)
    client = login("commander")
    assert "病*甲" in client.get("/tracing/").content.decode()
    page = client.get(f"/tracing/cases/{case.pk}/")
    assert page.status_code == 200 and "太子农庄" in page.content.decode()  # the scan record
    assert client.post(f"/tracing/cases/{case.pk}/act/", {"action": "find"}).status_code == 302
    text = client.get(f"/tracing/cases/{case.pk}/").content.decode()
    assert "同在 太子农庄" in text and "路*丙" in text and "13700000031" not in text
    bad = client.post(f"/tracing/cases/{case.pk}/act/", {"action": "declare", "phone": "1"})
    assert bad.status_code == 400 and Contact.objects.filter(case=case).count() == 2
    chain = client.get(f"/tracing/chain/?case={case.pk}&degree=1").content.decode()
    assert 'id="fk-chain"' in chain and chain.count('data-kind="place"') == 1
    svg = client.get(f"/tracing/chain.svg?case={case.pk}")
    assert svg["Content-Type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(svg.content)  # noqa: S314 (our own answer, in a test)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "太子农庄" in texts and "路*丙" in texts
    table = client.get(f"/tracing/chain.xlsx?case={case.pk}")
    sheet = load_workbook(
        io.BytesIO(b"".join(table.streaming_content) if table.streaming else table.content)
    ).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3 and any("同在 太子农庄" in str(r[8]) for r in rows[1:])
    assert AuditEvent.objects.filter(action="export").count() == 2
    # The other town sees none of it.
    other = login("commander_u")
    assert other.get(f"/tracing/cases/{case.pk}/").status_code == 404
    assert "病*甲" not in other.get("/tracing/").content.decode()
    assert "路*丙" not in other.get("/tracing/chain/").content.decode()


def test_a_case_opened_on_the_page_by_the_persons_mobile(world, login):
    p = person(world, "A1", "病例甲", "13700000001")
    client = login("commander")
    data = {"phone": "13700000001", "kind": "confirmed", "source": "manual"}
    refused = client.post("/tracing/new/", data)
    assert refused.status_code == 400 and not Case.objects.exists()
    today = timezone.localdate().isoformat()
    made = client.post("/tracing/new/", {**data, "onset_on": today})
    case = Case.objects.get(person=p)
    assert made.status_code == 302 and made["Location"].endswith(f"/tracing/cases/{case.pk}/")
    again = login("commander_u").post("/tracing/new/", {**data, "onset_on": today})
    assert again.status_code == 400 and Case.objects.count() == 1


def test_the_api_opens_finds_controls_and_lists(world, login):
    site_with_rooms(world)
    p = person(world, "A1", "病例甲", "13700000001")
    spouse = person(world, "A1", "病例甲配偶", "13700000011", household=p.household)
    client = login("commander")
    body = {"person_id": p.pk, "kind": "confirmed", "onset_on": timezone.localdate().isoformat()}
    made = client.post("/api/v1/tracing/cases", data=body, content_type="application/json")
    assert made.status_code == 201, made.content
    case_id = made.json()["id"]
    again = client.post("/api/v1/tracing/cases", data=body, content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == case_id
    no_date = client.post(
        "/api/v1/tracing/cases", data={"person_id": p.pk}, content_type="application/json"
    )
    assert no_date.status_code == 422 and "onset_on" in no_date.json()["errors"]
    found = client.post(f"/api/v1/tracing/cases/{case_id}/find", content_type="application/json")
    assert found.status_code == 200 and found.json()["household"] == 1
    done = client.post(f"/api/v1/tracing/cases/{case_id}/control", content_type="application/json")
    assert len(done.json()["controlled"]) == 1
    (row,) = client.get(f"/api/v1/tracing/cases/{case_id}/contacts").json()
    assert row["status"] == "controlled" and row["control_order_id"] == (
        ControlOrder.objects.get(person=spouse, status=OrderStatus.ACTIVE).pk
    )
    other = login("commander_u")
    assert other.get(f"/api/v1/tracing/cases/{case_id}").status_code == 404
    assert other.get("/api/v1/tracing/cases").json() == []
    stolen = other.post("/api/v1/tracing/cases", data=body, content_type="application/json")
    assert stolen.status_code == 422 and "person_id" in stolen.json()["errors"]


def test_the_hook_takes_the_labs_dates_as_given(world):
    from datetime import date

    from fangkong.control.hooks import PositiveCase
    from fangkong.tracing.cases import positive_case

    p = person(world, "A1", "病例甲", "13700000001")
    positive_case(
        PositiveCase(person_id=p.pk, household_id=None, on=date(2022, 7, 12), actor_id=None)
    )
    assert Case.objects.get(person=p).sampled_on == date(2022, 7, 12)
