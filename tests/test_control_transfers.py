"""Transfers: a closed loop from pick-up to site, confirmed at both ends with the time;
a live in-transit list; a transfer not received within 2 hours escalates; nobody who
left is lost: each has arrived or is listed in transit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from fangkong.control.models import ControlOrder, OrderType, Passenger, Transfer, TransferStatus
from fangkong.control.sites import site_create
from fangkong.control.transfers import (
    Rider,
    escalate_overdue,
    in_transit,
    transfer_create,
    transfer_depart,
    transfer_receive,
)
from fangkong.notify.models import Notice
from fangkong.workorders.services import Conflict
from tests.world import World, ensure_registry

pytestmark = pytest.mark.django_db


def a_transfer(world: World, keys: tuple[str, ...], vehicle: str = "浙F12345") -> Transfer:
    ensure_registry(world)
    site = site_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["T"],
        name=f"隔离点{vehicle}",
        kind="hotel",
        rooms=[("101", 2)],
    )
    return transfer_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["T"],
        pickup="王店高速卡口",
        destination=site,
        vehicle=vehicle,
        driver="驾驶员甲",
        escort=world.users["cadre_a"],
        riders=[Rider(world.persons[k]) for k in keys],
    )


def test_both_ends_confirm_with_the_time_and_the_escort_cannot_sign_for_the_site(world):
    transfer = a_transfer(world, ("A1M1", "A2"))
    now = timezone.now()
    left = transfer_depart(
        transfer_id=transfer.pk, actor=world.users["cadre_a"], expected_version=0, now=now
    )
    assert left.status == TransferStatus.IN_TRANSIT and left.departed_at == now
    assert {p.person.name for p in in_transit()} == {"沈楼居", "韩东居"}
    with pytest.raises(PermissionDenied):
        transfer_receive(transfer_id=transfer.pk, actor=world.users["cadre_a"], expected_version=1)
    with pytest.raises(PermissionDenied):
        transfer_receive(transfer_id=transfer.pk, actor=world.users["gw_p1"], expected_version=1)
    got = transfer_receive(
        transfer_id=transfer.pk,
        actor=world.users["commander"],
        expected_version=1,
        now=now + timedelta(minutes=40),
    )
    assert got.received_at == now + timedelta(minutes=40) and not in_transit().exists()
    with pytest.raises(Conflict):
        transfer_receive(transfer_id=transfer.pk, actor=world.users["county"], expected_version=1)


def test_bad_transfers_are_refused(world):
    a_transfer(world, ("A1M1",))
    with pytest.raises(ValidationError):  # already on a transfer
        a_transfer(world, ("A1M1",), vehicle="浙F99999")
    with pytest.raises(ValidationError):  # lives in the other town
        a_transfer(world, ("P1M1",), vehicle="浙F88888")
    with pytest.raises(PermissionDenied):
        transfer_create(
            actor=world.users["gw_b1"],
            jurisdiction=world.nodes["T"],
            pickup="x",
            destination=Transfer.objects.get().destination,
            vehicle="x",
            driver="x",
            escort=world.users["gw_b1"],
            riders=[Rider(world.persons["B1"])],
        )
    assert Transfer.objects.count() == 1


def test_a_transfer_not_received_in_two_hours_escalates_once(world):
    transfer = a_transfer(world, ("A2",))
    now = timezone.now()
    transfer_depart(
        transfer_id=transfer.pk, actor=world.users["cadre_a"], expected_version=0, now=now
    )
    assert escalate_overdue(now + timedelta(minutes=119)) == 0
    assert escalate_overdue(now + timedelta(minutes=121)) == 1
    assert escalate_overdue(now + timedelta(minutes=150)) == 0
    told = set(
        Notice.objects.filter(key__startswith="control-transfer-late").values_list(
            "user__username", flat=True
        )
    )
    assert {"wd_commander", "xz_officer", "sx_cadre"} <= told and "hh_commander" not in told


def test_nobody_is_lost_between_two_places(world):
    """Every person who left on any transfer has arrived or is on the in-transit list."""
    first = a_transfer(world, ("A1M1", "A2"), vehicle="浙F00001")
    second = a_transfer(world, ("B1",), vehicle="浙F00002")
    for t in (first, second):
        transfer_depart(transfer_id=t.pk, actor=world.users["cadre_a"], expected_version=0)
    transfer_receive(transfer_id=first.pk, actor=world.users["commander"], expected_version=1)
    left = set(
        Passenger.objects.exclude(transfer__departed_at=None).values_list("person_id", flat=True)
    )
    arrived = set(
        Passenger.objects.filter(transfer__status=TransferStatus.RECEIVED).values_list(
            "person_id", flat=True
        )
    )
    moving = set(in_transit().values_list("person_id", flat=True))
    assert left == arrived | moving and not arrived & moving
    assert moving == {world.persons["B1"].pk}


def test_nobody_is_lost_through_a_day_of_transfers_with_mistakes(world):
    """Sixty random steps (new transfers of anyone, some already on the road; departures
    and arrivals, some with a stale version, some signed by the escort at the wrong end):
    after each, whoever left has arrived or is in transit, never both, nobody rides two
    transfers at once, and a refused step changed nothing."""
    import random

    from fangkong.control.sites import site_create

    ensure_registry(world)
    rng = random.Random(16)  # a reproducible sequence
    site = site_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["T"],
        name="随机隔离点",
        kind="hotel",
        rooms=[("101", 2)],
    )
    keys = ["A1M1", "A2", "B1"]
    refused = 0
    for step in range(60):
        before = (
            Passenger.objects.count(),
            list(Transfer.objects.order_by("id").values_list("status", "version")),
        )
        op = rng.choice(["create", "depart", "receive"])
        try:
            if op == "create":
                transfer_create(
                    actor=world.users["commander"],
                    jurisdiction=world.nodes["T"],
                    pickup="卡口",
                    destination=site,
                    vehicle=f"浙F{step:05d}",
                    driver="司机",
                    escort=world.users["cadre_a"],
                    riders=[Rider(world.persons[k]) for k in rng.sample(keys, rng.randint(1, 2))],
                )
            else:
                wanted = TransferStatus.PLANNED if op == "depart" else TransferStatus.IN_TRANSIT
                open_ones = list(Transfer.objects.filter(status=wanted))
                if not open_ones:
                    continue
                t = rng.choice(open_ones)
                version = t.version - (1 if rng.random() < 0.2 else 0)
                actor = world.users["cadre_a" if rng.random() < 0.3 else "commander"]
                confirm = transfer_depart if op == "depart" else transfer_receive
                confirm(transfer_id=t.pk, actor=actor, expected_version=version)
        except (ValidationError, PermissionDenied, Conflict):
            refused += 1
            after = (
                Passenger.objects.count(),
                list(Transfer.objects.order_by("id").values_list("status", "version")),
            )
            assert after == before, f"step {step}: a refused {op} changed something"
        # Per trip (a person may travel again after arriving): every seat that left is
        # on a received transfer or on the in-transit list, never both.
        left = set(
            Passenger.objects.exclude(transfer__departed_at=None).values_list("pk", flat=True)
        )
        arrived = set(
            Passenger.objects.filter(transfer__status=TransferStatus.RECEIVED).values_list(
                "pk", flat=True
            )
        )
        moving = set(in_transit().values_list("pk", flat=True))
        assert left == arrived | moving and not arrived & moving, step
        open_riders = list(
            Passenger.objects.filter(
                transfer__status__in=[TransferStatus.PLANNED, TransferStatus.IN_TRANSIT]
            ).values_list("person_id", flat=True)
        )
        assert len(open_riders) == len(set(open_riders)), f"step {step}: someone rides twice"
    assert refused and Transfer.objects.filter(status=TransferStatus.RECEIVED).exists()


def test_a_transfer_to_another_town_s_site_is_the_county_s_and_seen_at_both_ends(world):
    from fangkong.control.selectors import passengers_of, transfer_for_user, transfers_visible
    from fangkong.control.services import order_create
    from fangkong.control.transfers import transfer_plan

    ensure_registry(world)
    theirs = site_create(
        actor=world.users["commander_u"],
        jurisdiction=world.nodes["U"],
        name="洪合隔离点",
        kind="hotel",
        rooms=[("201", 2)],
    )
    ours, also = (
        order_create(
            person=world.persons[key],
            # At home until the county's vehicle takes them to the site.
            type=OrderType.HOME_ISOLATION,
            starts_on=timezone.localdate(),
            days=7,
            test_days=[1, 3, 7],
            actor=world.users[persona],
            reason="密接",
        ).orders[0]
        for key, persona in (("A1M1", "commander"), ("P1M1", "commander_u"))
    )

    def plan(persona: str, orders: list[ControlOrder]) -> Transfer:
        return transfer_plan(
            actor=world.users[persona],
            orders=orders,
            pickup="王店高速卡口",
            destination=theirs,
            vehicle="浙F77777",
            driver="驾驶员乙",
            escort=world.users["cadre_a"],
        )

    # Neither town sends people into the other's site on its own.
    with pytest.raises(PermissionDenied):
        plan("commander", [ours])
    transfer = plan("county", [ours, also])
    assert transfer.jurisdiction == world.nodes["T"].parent  # the county
    # The receiving town sees it (everyone on board) and receives it; the sending town
    # follows its person on their order, not through another town's transfer.
    for persona in ("commander_u", "county"):
        assert transfer_for_user(world.users[persona], transfer.pk) == transfer
        assert transfer in transfers_visible(world.users[persona])
        assert {p.person_id for p in passengers_of(transfer)} == {ours.person_id, also.person_id}
    with pytest.raises(Http404):
        transfer_for_user(world.users["commander"], transfer.pk)
    transfer_depart(transfer_id=transfer.pk, actor=world.users["cadre_a"], expected_version=0)
    with pytest.raises(PermissionDenied):  # the sending town does not sign for the site
        transfer_receive(
            transfer_id=transfer.pk, actor=world.users["commander"], expected_version=1
        )
    got = transfer_receive(
        transfer_id=transfer.pk, actor=world.users["commander_u"], expected_version=1
    )
    assert got.status == TransferStatus.RECEIVED
    assert not transfers_visible(world.users["gw_b1"]).filter(pk=transfer.pk).exists()
