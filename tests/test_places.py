"""Places and scans: a shop registered with its code and poster; visitors scan it on the
public page without an account (name and mobile once, the phone's token afterwards), the
phone kept encrypted under the registry's keyed hash, a reload within minutes counted
once, a flood refused; the manager sees today's count. A patrol inspects a place it
proves it is at by the code; a failed item becomes a finding with a rectification order
in the inspector's tasks, whose result is the re-inspection (a closure closes the place);
an enterprise's logs; gatherings decided by the response level's rule."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fangkong.core.crypto import blind_index
from fangkong.org.roles import Perm, Role, permissions_for
from fangkong.places import selectors, services
from fangkong.places.kinds import RECTIFY_KIND
from fangkong.places.models import (
    Decision,
    Finding,
    FindingStatus,
    Inspection,
    Penalty,
    PlaceStatus,
    Scan,
    Visitor,
)
from fangkong.workorders.models import Status, WorkOrder
from fangkong.workorders.services import order_complete
from tests.places_support import patrol_user, place_of

pytestmark = pytest.mark.django_db


def _scan(client: Client, code: str, **data: str) -> Any:
    return client.post(reverse("scan:scan", args=[code]), data)


def test_patrol_role_holds_exactly_what_it_needs() -> None:
    assert permissions_for(Role.PATROL) == frozenset({Perm.PLACES_VIEW, Perm.PLACES_PATROL})


def test_a_visitor_scans_without_an_account(world) -> None:
    shop = place_of(world, "四喜便利店", "shop")
    client = Client()
    page = client.get(reverse("scan:scan", args=[shop.code]))
    assert page.status_code == 200 and "四喜便利店" in page.content.decode()
    first = _scan(client, shop.code, name="陈小明", phone="139 1111 2222")
    assert first.status_code == 200
    token = first.context["done"].token
    scan = Scan.objects.get()
    assert scan.place == shop and scan.node_path == shop.jurisdiction.path
    # The registry's keyed hash of the normalised phone: tracing joins it to persons.
    assert scan.person_key == blind_index("13911112222")
    visitor = Visitor.objects.get()
    assert visitor.phone == "13911112222" and visitor.name == "陈小明"
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, name FROM places_visitor")
        stored = cursor.fetchone()
    assert "13911112222" not in stored[0] and "陈小明" not in stored[1]
    # A reload moments later is the same visit.
    again = _scan(client, shop.code, token=token)
    assert again.status_code == 200 and not again.context["done"].recorded
    assert Scan.objects.count() == 1
    # Another place with the token alone: no name or number sent.
    other = place_of(world, "四喜药房", "pharmacy")
    assert _scan(Client(), other.code, token=token).status_code == 200
    assert Scan.objects.filter(place=other, person_key=scan.person_key).count() == 1


def test_a_bad_or_forged_visitor_is_asked_again(world) -> None:
    shop = place_of(world, "四喜便利店", "shop")
    bad = _scan(Client(), shop.code, name="", phone="12345")
    assert bad.status_code == 400
    errors = bad.context["form"].errors
    assert "name" in errors and "phone" in errors
    forged = _scan(Client(), shop.code, token="abc:def")
    assert forged.status_code == 400
    assert Scan.objects.count() == 0
    assert Client().get(reverse("scan:scan", args=["nope"])).status_code == 404


def test_the_place_limit_refuses_a_flood(world, frozen_clock) -> None:
    from fangkong.places import limits

    shop = place_of(world, "四喜便利店", "shop")
    original = limits.SCANS_PER_PLACE
    limits.SCANS_PER_PLACE = (2, 60)
    try:
        for n in range(2):
            assert _scan(Client(), shop.code, name="甲", phone=f"1391111000{n}").status_code == 200
        refused = _scan(Client(), shop.code, name="乙", phone="13911110009")
    finally:
        limits.SCANS_PER_PLACE = original
    assert refused.status_code == 429 and refused["Retry-After"]
    assert Scan.objects.count() == 2


def test_a_closed_place_takes_no_scan(world) -> None:
    shop = place_of(world, "四喜便利店", "shop")
    services.place_close(actor=world.users["commander"], place_id=shop.pk, reason="停业整顿")
    assert _scan(Client(), shop.code, name="陈", phone="13911112222").status_code == 409
    assert Scan.objects.count() == 0


def test_the_manager_and_the_town_see_todays_count(world, client) -> None:
    shop = place_of(world, "四喜便利店", "shop")
    now = timezone.now()
    services.scans_bulk(
        [(shop.pk, blind_index(f"1390000{n:04d}"), shop.jurisdiction.path, now) for n in range(7)]
        + [(shop.pk, blind_index("13900009999"), shop.jurisdiction.path, now - timedelta(days=2))]
    )
    assert selectors.scans_today(shop) == 7
    client.force_login(world.users["cadre_a"])
    page = client.get(reverse("places:place", args=[shop.pk]))
    assert page.status_code == 200 and page.context["today"] == 7
    # A staff user named as the manager sees their own place's count.
    shop.manager_user = world.users["gw_a1"]
    shop.save(update_fields=["manager_user"])
    client.force_login(world.users["gw_a1"])
    mine = client.get(reverse("places:mine"))
    assert mine.context["places"] == [(shop, 7)]
    # The list counts every place's day in one query.
    client.force_login(world.users["commander"])
    with CaptureQueriesContext(connection) as q:
        listing = client.get(reverse("places:places"))
    assert listing.context["places"][0][1] == 7
    assert len(q.captured_queries) < 20


def test_the_poster_carries_the_place_code(world, client) -> None:
    shop = place_of(world, "四喜便利店", "shop")
    client.force_login(world.users["gw_a1"])
    poster = client.get(reverse("places:poster", args=[shop.pk]))
    body = poster.content.decode()
    assert poster.status_code == 200 and "<svg" in body and f"/s/{shop.code}/" in body
    client.force_login(world.users["gw_p1"])
    assert client.get(reverse("places:poster", args=[shop.pk])).status_code == 404


def _answers(fail: tuple[str, ...] = ()) -> dict[str, str]:
    from fangkong.places.models import ChecklistItem

    return {
        i.code: ("fail" if i.code in fail else "ok")
        for i in ChecklistItem.objects.filter(group__in=["", "business"])
    }


def test_an_inspection_needs_the_place_code(world) -> None:
    shop = place_of(world, "四喜便利店", "shop")
    patrol = patrol_user(world)
    with pytest.raises(ValidationError) as e:
        services.inspection_record(
            actor=patrol, place=shop, code="wrong", answers=_answers(), client_id=uuid.uuid4()
        )
    assert "code" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        services.inspection_record(
            actor=patrol,
            place=shop,
            code=shop.code,
            answers={"masks": "ok"},
            client_id=uuid.uuid4(),
        )
    assert "answers" in e.value.message_dict
    # A grid worker does not patrol.
    with pytest.raises(PermissionDenied):
        services.inspection_record(
            actor=world.users["gw_a1"],
            place=shop,
            code=shop.code,
            answers=_answers(),
            client_id=uuid.uuid4(),
        )
    assert Inspection.objects.count() == 0


def test_a_finding_leads_to_an_order_and_a_reinspection(world) -> None:
    shop = place_of(world, "四喜便利店", "shop")
    patrol = patrol_user(world)
    client_id = uuid.uuid4()
    made = services.inspection_record(
        actor=patrol,
        place=shop,
        code=shop.code,
        answers=_answers(fail=("scanning_enforced", "masks")),
        notes={"scanning_enforced": "顾客未扫码直接进入"},
        client_id=client_id,
        deadline_days=2,
    )
    assert len(made.findings) == 2
    again = services.inspection_record(
        actor=patrol,
        place=shop,
        code=shop.code,
        answers=_answers(fail=("scanning_enforced", "masks")),
        client_id=client_id,
    )
    assert not again.created and Finding.objects.count() == 2
    finding = Finding.objects.get(item__code="scanning_enforced")
    order = WorkOrder.objects.get(pk=finding.order_id or 0)
    assert order.kind == RECTIFY_KIND and order.assignee == patrol
    assert order.due_at == finding.deadline
    assert finding.deadline - made.inspection.at == timedelta(days=2)
    # The re-inspection: not rectified, a fine.
    order_complete(
        order_id=order.pk,
        actor=patrol,
        result={"rectified": False, "penalty": "fine", "fine_yuan": 2000, "note": "仍未扫码"},
        client_id=uuid.uuid4(),
    )
    finding.refresh_from_db()
    assert finding.status == FindingStatus.NOT_RECTIFIED
    assert finding.reinspection is not None and finding.reinspection.kind == "reinspection"
    penalty = Penalty.objects.get(finding=finding)
    assert penalty.kind == "fine" and penalty.fine_yuan == 2000
    # The other: rectified, nothing more; then a closure on a third visit.
    masks = Finding.objects.get(item__code="masks")
    order_complete(
        order_id=masks.order_id or 0,
        actor=patrol,
        result={"rectified": True, "penalty": "none"},
        client_id=uuid.uuid4(),
    )
    masks.refresh_from_db()
    assert masks.status == FindingStatus.RECTIFIED
    assert Penalty.objects.count() == 1
    services.penalty_record(actor=patrol, place=shop, kind="closure", note="拒不整改")
    shop.refresh_from_db()
    assert shop.status == PlaceStatus.CLOSED
    assert WorkOrder.objects.filter(kind=RECTIFY_KIND, status=Status.DONE).count() == 2


def test_penalties_are_checked(world) -> None:
    shop = place_of(world, "四喜便利店", "shop")
    patrol = patrol_user(world)
    with pytest.raises(ValidationError):
        services.penalty_record(actor=patrol, place=shop, kind="fine", fine_yuan=0)
    with pytest.raises(ValidationError):
        services.penalty_record(actor=patrol, place=shop, kind="jail")
    with pytest.raises(PermissionDenied):
        services.penalty_record(actor=world.users["commander_u"], place=shop, kind="warning")
    assert Penalty.objects.count() == 0


def test_the_inspection_page_behind_the_code(world, client) -> None:
    shop = place_of(world, "四喜便利店", "shop")
    patrol = patrol_user(world)
    client.force_login(patrol)
    public = client.get(reverse("scan:scan", args=[shop.code]))
    assert public.context.get("may_inspect")
    url = reverse("places:inspect", args=[shop.code])
    form = client.get(url).context["form"]
    data = {f"item_{c}": a for c, a in _answers(fail=("temperature",)).items()}
    data.update(client_id=form["client_id"].value(), deadline_days="3", note_temperature="无测温")
    done = client.post(url, data)
    assert done.status_code == 302
    assert Finding.objects.get().note == "无测温"
    # Another town's patrol knows nothing of it.
    client.force_login(world.users["gw_a1"])
    assert client.get(url).status_code == 403


def test_enterprise_logs(world) -> None:
    firm = place_of(world, "四喜冷链物流", "logistics")
    cadre = world.users["cadre_a"]
    today = timezone.localdate()
    services.disinfection_record(actor=cadre, place=firm, day=today, areas="仓库", done_by="刘")
    services.disinfection_record(
        actor=cadre, place=firm, day=today, areas="仓库、车辆", done_by="刘"
    )
    assert firm.disinfections.get().areas == "仓库、车辆"
    services.goods_check_record(
        actor=cadre,
        place=firm,
        day=today,
        kind="cold_chain",
        batches=12,
        sampled=4,
        all_negative=True,
        disinfected=True,
    )
    with pytest.raises(ValidationError):
        services.goods_check_record(
            actor=cadre,
            place=firm,
            day=today,
            kind="parcel",
            batches=1,
            sampled=3,
            all_negative=True,
            disinfected=True,
        )
    services.commitment_sign(
        actor=cadre, place_id=firm.pk, signer="刘经理", signed_on=today, text="严格落实防疫措施"
    )
    firm.refresh_from_db()
    assert firm.commitment_signer == "刘经理"
    shop = place_of(world, "四喜便利店", "shop")
    with pytest.raises(ValidationError):
        services.disinfection_record(actor=cadre, place=shop, day=today, areas="x", done_by="y")
    with pytest.raises(PermissionDenied):
        services.disinfection_record(
            actor=world.users["gw_a1"], place=firm, day=today, areas="x", done_by="y"
        )


def test_gatherings_follow_the_response_level(world) -> None:
    cadre = world.users["cadre_a"]
    node = world.nodes["A"]
    on = timezone.localdate() + timedelta(days=3)

    def register(kind: str, expected: int, level: int) -> tuple[str, int]:
        # The level in force at the town, as the response app's listener writes it.
        services.level_in_force_record(node=world.nodes["T"], rank=level, at=timezone.now())
        g = services.gathering_register(
            actor=cadre,
            jurisdiction=node,
            kind=kind,
            on=on,
            organiser="陈家",
            expected=expected,
        )
        assert g.level == level
        return g.decision, g.max_people

    assert register("temple_fair", 200, 2) == (Decision.REFUSED, 0)
    assert register("wedding", 60, 2) == (Decision.LIMITED, 20)
    assert register("wedding", 15, 2) == (Decision.ALLOWED, 20)
    assert register("wedding", 500, 0) == (Decision.ALLOWED, 0)
    with pytest.raises(ValidationError):
        register("wedding", 10, 7)


def test_a_religious_venue_is_closed_and_its_person_contacted(world, client) -> None:
    temple = place_of(world, "东岳庙", "folk_belief", node="A")
    client.force_login(world.users["cadre_a"])
    url = reverse("places:act", args=[temple.pk])
    client.post(url, {"action": "close", "reason": "二级响应期间暂停开放"})
    client.post(url, {"action": "contacted"})
    temple.refresh_from_db()
    assert temple.status == PlaceStatus.CLOSED and temple.contacted_at is not None
    client.force_login(world.users["gw_a1"])
    assert client.post(url, {"action": "reopen"}).status_code == 403
    temple.refresh_from_db()
    assert temple.status == PlaceStatus.CLOSED


def test_scans_go_after_28_days_and_their_visitors_with_them(world) -> None:
    from fangkong.retention.models import RetentionRule
    from fangkong.retention.services import purge_run

    assert RetentionRule.objects.get(kind="place_scans").days == 28
    shop = place_of(world, "四喜便利店", "shop")
    now = timezone.now()
    old = services.visitor_remember(
        name="旧访客", phone="13911110001", now=now - timedelta(days=40)
    )
    recent = services.visitor_remember(name="新访客", phone="13911110002")
    services.scans_bulk(
        [
            (shop.pk, old, shop.jurisdiction.path, now - timedelta(days=29)),
            (shop.pk, recent, shop.jurisdiction.path, now - timedelta(days=29)),
            (shop.pk, recent, shop.jurisdiction.path, now - timedelta(days=1)),
        ]
    )
    run = purge_run(actor_name="test")
    assert run.detail.get("visitors_deleted") == 1
    assert list(Scan.objects.values_list("person_key", flat=True)) == [recent]
    assert list(Visitor.objects.values_list("key", flat=True)) == [recent]
