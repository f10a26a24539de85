"""A case's tracing record beyond its scans (issue 20): where the checkpoint log checked
the case's person in the look-back window, and the places and times the case declared
in the interview, entered on the page and through the API (once each, bad input named
by field, scoped); a declared stay at a registered place makes who scanned there then
a co-location contact, with the reason in words."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fangkong.audit.models import AuditEvent
from fangkong.tracing.cases import case_close, case_open, contacts_find
from fangkong.tracing.interview import stay_record
from fangkong.tracing.models import Contact, ContactHow, Stay
from fangkong.tracing.selectors import checkpoint_record
from tests.tracing_cases_support import (
    edition_in_force,
    noon,
    open_case,
    person,
    restaurant,
    scan,
)
from tests.world import REGISTRY, ensure_registry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _edition(world):
    edition_in_force(world)


def _case(world, p, days_ago: int = 1):
    return open_case(world, p, days_ago)


def test_the_checkpoint_log_in_the_record(world, login):
    from tests.checkpoints_support import build_checkpoint, log_arrival

    ensure_registry(world)
    c = build_checkpoint(world)
    _address, name, id_number, _phone = REGISTRY["A1M1"]
    log_arrival(
        world,
        c,
        id_number,
        name,
        timezone.now() - timedelta(minutes=20),
        origin="上海",
        destination="王店",
    )
    # Someone else through the same post: not the case's.
    log_arrival(
        world, c, "110101199003074477", "陆返乡", timezone.now(), origin="上海", destination="王店"
    )
    early, _new = case_open(
        person=world.persons["A1M1"],
        kind="confirmed",
        onset_on=timezone.localdate(),
        sampled_on=None,
        source="manual",
        actor=world.users["commander"],
        isolated_at=timezone.now() - timedelta(hours=1),
    )
    assert checkpoint_record(early) == []  # isolated before the post checked them
    case_close(case=early, actor=world.users["commander"])
    case = _case(world, world.persons["A1M1"])
    (line,) = checkpoint_record(case)
    assert line.post == c.post.name and "上海" in line.direction and line.outcome
    page = login("commander").get(f"/tracing/cases/{case.pk}/").content.decode()
    assert c.post.name in page.split('id="fk-checked"')[1].split("</ul>")[0]
    got = login("commander").get(f"/api/v1/tracing/cases/{case.pk}/record").json()
    assert [e["post"] for e in got["checkpoints"]] == [c.post.name]


def test_a_declared_stay_once_with_errors_named_by_field(world):
    p = person(world, "A1", "病例甲", "13700000001")
    case = _case(world, p)
    place = restaurant(world)
    actor = world.users["commander"]
    start, end = noon(2, 18, 0), noon(2, 19, 30)
    stay, new = stay_record(case=case, actor=actor, place=place, started_at=start, ended_at=end)
    assert new and stay.where == "太子农庄"
    again, new = stay_record(case=case, actor=actor, place=place, started_at=start, ended_at=end)
    assert again == stay and not new
    words, new = stay_record(
        case=case, actor=actor, address=" 红星路 8 号 菜场 ", started_at=start, ended_at=end
    )
    assert new and words.address == "红星路 8 号 菜场"
    bad: list[tuple[dict[str, Any], str]] = [
        ({"address": ""}, "address"),
        ({"address": "菜场", "ended_at": start - timedelta(minutes=1)}, "ended_at"),
        ({"address": "菜场", "ended_at": start + timedelta(hours=13)}, "ended_at"),
        ({"address": "菜场", "started_at": timezone.now() + timedelta(hours=1)}, "started_at"),
        ({"address": "菜场", "started_at": start - timedelta(days=40)}, "started_at"),
        ({"address": "x" * 101}, "address"),
        ({"address": "菜场", "note": "y" * 201}, "note"),
    ]
    for change, field in bad:
        args: dict[str, Any] = {"started_at": start, "ended_at": end, **change}
        with pytest.raises(ValidationError) as e:
            stay_record(case=case, actor=actor, **args)
        assert field in e.value.message_dict, (change, e.value.message_dict)
    with pytest.raises(PermissionDenied):
        stay_record(
            case=case,
            actor=world.users["commander_u"],
            address="菜场",
            started_at=start,
            ended_at=end,
        )
    assert Stay.objects.filter(case=case).count() == 2
    assert AuditEvent.objects.filter(object_repr__startswith="stay ").count() == 2


def test_a_declared_stay_feeds_the_colocation_job(world):
    p = person(world, "A1", "病例甲", "13700000001")
    diner = person(world, "A2", "食客乙", "13700000021")
    place = restaurant(world)
    # The case never scanned there; the interview says it ate there 18:00-19:30.
    scan(place, "13700000021", noon(2, 18, 40), "食客乙")
    scan(place, "13700000051", noon(2, 21, 0), "晚来戊")  # after the case left
    case = _case(world, p)
    assert contacts_find(case=case, actor=world.users["commander"]).colocation == 0
    stay_record(
        case=case,
        actor=world.users["commander"],
        place=place,
        started_at=noon(2, 18, 0),
        ended_at=noon(2, 19, 30),
    )
    found = contacts_find(case=case, actor=world.users["commander"])
    assert found.colocation == 1
    met = Contact.objects.get(case=case, person=diner)
    assert met.how == ContactHow.COLOCATION and met.place_id == place.pk
    assert "太子农庄" in met.reason and "流调" in met.reason
    assert contacts_find(case=case, actor=world.users["commander"]).total == 0


def test_the_stay_form_and_the_api(world, login):
    p = person(world, "A1", "病例甲", "13700000001")
    case = _case(world, p)
    place = restaurant(world)
    client = login("commander")
    url = f"/tracing/cases/{case.pk}/act/"
    start, end = noon(2, 18, 0), noon(2, 19, 30)
    fmt = "%Y-%m-%dT%H:%M"
    refused = client.post(
        url,
        {
            "action": "stay",
            "place_code": "nope",
            "started_at": start.strftime(fmt),
            "ended_at": end.strftime(fmt),
        },
    )
    assert refused.status_code == 400 and not Stay.objects.exists()
    assert 'id="id_place_code"' in refused.content.decode()
    assert refused.context["stay_form"].errors["place_code"]
    made = client.post(
        url,
        {
            "action": "stay",
            "place_code": place.code,
            "started_at": start.strftime(fmt),
            "ended_at": end.strftime(fmt),
            "note": "和家人吃饭",
        },
    )
    assert made.status_code == 302 and Stay.objects.get(case=case).place == place
    page = client.get(f"/tracing/cases/{case.pk}/").content.decode()
    assert "和家人吃饭" in page.split('id="fk-stays"')[1].split("</ul>")[0]
    body = {
        "address": "红星路 8 号 菜场",
        "started_at": start.isoformat(),
        "ended_at": end.isoformat(),
    }
    api = f"/api/v1/tracing/cases/{case.pk}/stays"
    first = client.post(api, data=body, content_type="application/json")
    assert first.status_code == 201, first.content
    again = client.post(api, data=body, content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    wrong = client.post(
        api,
        data={**body, "ended_at": (start - timedelta(hours=1)).isoformat()},
        content_type="application/json",
    )
    assert wrong.status_code == 422 and "ended_at" in wrong.json()["errors"]
    untimed = client.post(api, data={"address": "菜场"}, content_type="application/json")
    assert untimed.status_code == 422
    assert {"started_at", "ended_at"} <= set(untimed.json()["errors"])
    record = client.get(f"/api/v1/tracing/cases/{case.pk}/record").json()
    assert {s["where"] for s in record["declared"]} == {"太子农庄", "红星路 8 号 菜场"}
    other = login("commander_u")
    assert other.post(api, data=body, content_type="application/json").status_code == 404
    assert other.get(f"/api/v1/tracing/cases/{case.pk}/record").status_code == 404
    assert Stay.objects.count() == 2
