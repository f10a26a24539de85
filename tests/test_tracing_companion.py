"""A pushed 时空伴随 list as a source of a case's contacts (issue 20): its matched rows
become contacts with their person and the reason in words, its unmatched rows contacts
to find; linking again adds nothing; a person screening already put under control keeps
that order; a list of another kind or another town is refused, naming the field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from fangkong.control.models import ControlOrder, OrderStatus
from fangkong.policy.models import Category
from fangkong.tracing.cases import contacts_control
from fangkong.tracing.companion import companion_link
from fangkong.tracing.kinds import FIND_KIND
from fangkong.tracing.models import Contact, ContactHow, ContactStatus
from tests.tracing_cases_support import edition_in_force, open_case, person, site_with_rooms
from tests.world import REGISTRY, ensure_pushed, ensure_registry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _edition(world):
    edition_in_force(world)


def _companion_list(world, town: str = "T", keys=("A1M1",), sha: str = "c"):
    from fangkong.core.tabular import Table
    from fangkong.screening.pushed import pushed_import

    ensure_registry(world)
    rows = [(i + 2, [REGISTRY[k][1], REGISTRY[k][2], REGISTRY[k][3]]) for i, k in enumerate(keys)]
    rows.append((len(rows) + 2, ["伴随陌生人", "", "13700000099"]))
    result = pushed_import(
        actor=world.users["commander" if town == "T" else "commander_u"],
        node=world.nodes[town],
        table=Table(headers=["姓名", "身份证号码", "联系电话"], rows=rows),
        filename="时空伴随.csv",
        sha256=sha * 64,
        name=f"{town}时空伴随第1批",
        source="市指挥部",
        category="companion",
        deadline=timezone.now() + timedelta(days=1),
    )
    assert result.pushed is not None, result.errors
    return result.pushed


def _case(world):
    return open_case(world, person(world, "A1", "病例甲", "13700000001"))


def test_a_companion_list_names_contacts_once(world):
    site_with_rooms(world)
    case = _case(world)
    pushed = _companion_list(world)
    resident = world.persons["A1M1"]
    # Screening's loop (or anyone) put the resident under control already.
    from fangkong.control.services import contact_order

    earlier = contact_order(
        person=resident,
        category=Category.CLOSE_CONTACT,
        last_on=timezone.localdate(),
        actor=world.users["commander"],
        reason="上级推送核查",
    ).orders[0]
    orders_before = ControlOrder.objects.count()
    linked = companion_link(case=case, pushed=pushed, actor=world.users["commander"])
    assert (linked.matched, linked.unmatched, linked.already) == (1, 1, 0)
    matched = Contact.objects.get(case=case, person=resident)
    assert matched.how == ContactHow.PUSHED and matched.pushed_row is not None
    assert pushed.name in matched.reason and "第 2 行" in matched.reason
    stranger = Contact.objects.get(case=case, person__isnull=True)
    assert stranger.name == "伴随陌生人" and stranger.shown_phone != "13700000099"
    again = companion_link(case=case, pushed=pushed, actor=world.users["commander"])
    assert (again.matched, again.unmatched, again.already) == (0, 0, 2)
    assert Contact.objects.filter(case=case).count() == 2
    done = contacts_control(case=case, actor=world.users["commander"])
    matched.refresh_from_db()
    stranger.refresh_from_db()
    assert matched.order == earlier and matched.status == ContactStatus.CONTROLLED
    assert ControlOrder.objects.count() == orders_before  # no second order
    assert ControlOrder.objects.filter(person=resident, status=OrderStatus.ACTIVE).count() == 1
    assert stranger.status == ContactStatus.TO_FIND and stranger.work_order is not None
    assert stranger.work_order.kind == FIND_KIND
    assert [c.pk for c in done.to_find] == [stranger.pk]


def test_a_list_of_another_kind_or_town_is_refused(world):
    case = _case(world)
    red = ensure_pushed(world)  # a red-code list of the same town
    with pytest.raises(ValidationError) as e:
        companion_link(case=case, pushed=red, actor=world.users["commander"])
    assert "list_id" in e.value.message_dict
    elsewhere = _companion_list(world, town="U", keys=("P1M1",), sha="u")
    with pytest.raises(ValidationError) as e:
        companion_link(case=case, pushed=elsewhere, actor=world.users["commander"])
    assert "list_id" in e.value.message_dict
    assert not Contact.objects.filter(case=case).exists()


def test_the_page_and_the_api_link_a_list(world, login):
    case = _case(world)
    pushed = _companion_list(world)
    elsewhere = _companion_list(world, town="U", keys=("P1M1",), sha="u")
    client = login("commander")
    page = client.get(f"/tracing/cases/{case.pk}/").content.decode()
    assert pushed.name in page and elsewhere.name not in page
    done = client.post(
        f"/tracing/cases/{case.pk}/act/", {"action": "companion", "list_id": str(pushed.pk)}
    )
    assert done.status_code == 302 and Contact.objects.filter(case=case).count() == 2
    api = f"/api/v1/tracing/cases/{case.pk}/companion"
    again = client.post(api, data={"list_id": pushed.pk}, content_type="application/json")
    assert again.status_code == 200, again.content
    assert again.json()["already"] == 2 and again.json()["contacts"] == []
    stolen = client.post(api, data={"list_id": elsewhere.pk}, content_type="application/json")
    assert stolen.status_code == 422 and "list_id" in stolen.json()["errors"]
    other = login("commander_u")
    refused = other.post(api, data={"list_id": elsewhere.pk}, content_type="application/json")
    assert refused.status_code == 404
    assert Contact.objects.filter(case=case).count() == 2
