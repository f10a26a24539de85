"""The demo town: structure modelled on the source articles, deterministic, valid."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.org.demo import DEMO_PASSWORD
from fangkong.org.models import Jurisdiction, Level, Membership, StaffProfile, Team, TeamKind
from fangkong.org.roles import Role
from fangkong.org.services import team_composition_errors


@pytest.mark.django_db
def test_demo_town_structure(capsys):
    call_command("demo_town", "--residents", "3000")
    out = capsys.readouterr().out
    assert "Demo town built in" in out and "commander" in out and "fangkong-demo-2022" in out
    villages = Jurisdiction.objects.filter(level=Level.VILLAGE)
    assert villages.count() == 28
    for village in villages:
        assert 4 <= village.children.count() <= 8
    grids = Jurisdiction.objects.filter(level=Level.GRID)
    assert all(g.children.exists() for g in grids)
    # Every role has at least one person, so every demo login works.
    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == set(Role.values)
    # Demo logins go straight in: no account is held at the change of password.
    assert not User.objects.filter(must_change_password=True).exists()
    client = Client()
    login = client.post("/accounts/login/", {"username": "commander", "password": DEMO_PASSWORD})
    assert login["Location"] == "/" and client.get("/").status_code == 200
    # Emergency response: the town's golden-24-hours plan and one finished drill, its
    # groups formed from the town's work groups of the same names.
    from fangkong.response.models import Activation

    drill = Activation.objects.get(drill=True, status="closed")
    assert drill.plan.jurisdiction is not None and drill.plan.code == "golden-24h"
    assert drill.groups.filter(team__isnull=False).count() >= 5
    assert drill.callouts.filter(arrived_at__isnull=False).exists()
    assert client.get(f"/response/activations/{drill.pk}/").status_code == 200
    work_groups = Team.objects.filter(kind=TeamKind.WORK_GROUP)
    assert sorted(work_groups.values_list("name", flat=True)) == sorted(
        [
            "卡点服务组",
            "重点场所巡查组",
            "信息收集报送组",
            "红黄码管控组",
            "后勤保障组",
            "考核督查组",
        ]
    )
    units = Team.objects.filter(kind=TeamKind.GRID_UNIT)
    assert units.count() == grids.count()
    assert set(units.values_list("jurisdiction_id", flat=True)) == set(
        grids.values_list("id", flat=True)
    )
    for unit in units[:20]:
        assert team_composition_errors(unit) == []
    # Responsible persons: every grid has one, every village a 包村 town cadre.
    assert (
        Membership.objects.filter(responsibility="grid", jurisdiction__level=Level.GRID)
        .values("jurisdiction")
        .distinct()
        .count()
        == grids.count()
    )
    assert Membership.objects.filter(responsibility="village").count() == 28
    # Deterministic: the same seed gives the same names.
    first = list(
        StaffProfile.objects.order_by("user__username").values_list("name", flat=True)[:50]
    )
    call_command("demo_town", "--reset", "--residents", "3000")
    again = list(
        StaffProfile.objects.order_by("user__username").values_list("name", flat=True)[:50]
    )
    assert first == again
    call_command("demo_town", "--if-missing")
    assert Jurisdiction.objects.filter(level=Level.VILLAGE).count() == 28


@pytest.mark.django_db
def test_demo_residents():
    from stdnum.cn import ric

    from fangkong.people.models import Household, Person, PersonTag

    call_command("demo_town", "--residents", "3000")
    households, persons = Household.objects.count(), Person.objects.count()
    assert 900 <= households <= 1100 and 2500 <= persons <= 4000
    assert not Household.objects.filter(head__isnull=True).exists()
    town = Jurisdiction.objects.get(level=Level.TOWN)
    counted = Person.objects.filter(status__in=["present", "away"]).count()
    assert (town.household_count, town.resident_count) == (households, counted)
    # Valid but recognisably synthetic: sequence codes 996-999 on people of every age.
    numbers = list(Person.objects.values_list("id_number", flat=True))
    assert all(ric.is_valid(n) and n[14:17] in {"996", "997", "998", "999"} for n in numbers)
    assert len(set(numbers)) == len(numbers)
    assert Household.objects.filter(housing_type="rented").exists()
    assert Person.objects.filter(residency="liudong").exists()
    assert PersonTag.objects.filter(tag="alone").exists()
    # Every household sits on a leaf: a micro-grid.
    assert not Household.objects.exclude(jurisdiction__level=Level.MICROGRID).exists()
    # Two weeks of counts for the dashboard; the last two days' bulletins of town and county.
    from fangkong.reports.models import Bulletin, DailyReport, VillageDay

    assert VillageDay.objects.filter(village__level=Level.VILLAGE).count() == 28 * 14
    # The town's own row holds what its posts directly under it counted: only on the
    # days they logged (the demo's day of checkpoint logs).
    town_days = VillageDay.objects.filter(village__level=Level.TOWN)
    assert town_days.exists() and town_days.count() <= 14
    assert all(any(d.values.values()) for d in town_days)
    assert Bulletin.objects.filter(node__level=Level.TOWN).count() == 2
    assert Bulletin.objects.filter(node__level=Level.COUNTY).count() == 2
    assert DailyReport.objects.filter(status="submitted", late=True).exists()
    # Every work-order tally equals a recount of the orders the demo made and completed.
    from fangkong.workorders.models import WorkOrder
    from fangkong.workorders.services import tally_differences

    assert WorkOrder.objects.filter(status="done").exists()
    assert tally_differences() == []
    call_command("check_tallies")
    # The sweep took over the plain visits it covers: no household has two open visits.
    from django.db.models import Count

    from fangkong.workorders.models import OPEN_STATUSES

    visits = ("visit_household", "revisit_household", "sweep_visit")
    doubled = (
        WorkOrder.objects.filter(kind__in=visits, status__in=OPEN_STATUSES)
        .values("subject_type", "subject_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not doubled.exists(), list(doubled[:5])
    assert WorkOrder.objects.filter(kind="sweep_visit").exists()


@pytest.mark.django_db
def test_the_demo_town_has_one_sealed_building():
    from fangkong.control.models import ControlOrder, OrderStatus
    from fangkong.zones.models import Zone, ZoneStatus

    call_command("demo_town", "--residents", "3000")
    zones = Zone.objects.filter(status=ZoneStatus.ACTIVE).select_related("kind")
    assert sorted(z.kind.code for z in zones) == ["controlled", "prevention", "sealed"]
    sealed = zones.get(kind__code="sealed")
    (building,) = sealed.places.all()
    assert building.kind == "building"
    ids = sealed.measures.exclude(order_id=None).values_list("order_id", flat=True)
    orders = ControlOrder.objects.filter(pk__in=list(ids), status=OrderStatus.ACTIVE)
    assert orders.exists() and {o.type for o in orders} == {"home_isolation"}
    # Around it, the vulnerable-people register with contacts, today's checks of those
    # in the sealed or controlled zones, the village's store and a lunch handed out.
    from fangkong.assist.models_care import CareCheck, CareEntry, Meal
    from fangkong.assist.models_supplies import Store

    entries = CareEntry.objects.all()
    assert entries.exists() and not entries.filter(contact=None).exists()
    assert Store.objects.count() == 1 and Meal.objects.count() == 1
    assert set(CareCheck.objects.values_list("day", flat=True)) <= {timezone.localdate()}


@pytest.mark.django_db
def test_the_demo_town_has_places_with_scans_and_a_patrol_round():
    from fangkong.places.models import Finding, FindingStatus, Place, PlaceStatus, Scan
    from fangkong.places.selectors import scans_today

    call_command("demo_town", "--residents", "3000")
    market = Place.objects.get(name="惠民农贸市场")
    assert Scan.objects.count() == 600 and scans_today(market) > 0
    assert Place.objects.get(name="关帝庙").status == PlaceStatus.CLOSED
    assert set(Finding.objects.values_list("status", flat=True)) == {
        FindingStatus.OPEN,
        FindingStatus.RECTIFIED,
    }
    patrol = User.objects.get(username="patrol1")
    assert {m.role for m in Membership.objects.filter(user=patrol)} == {Role.PATROL}
    client = Client()
    assert client.login(username="patrol1", password=DEMO_PASSWORD)
    assert client.get(f"/places/p/{market.pk}/").status_code == 200
    # Once more with --reset: the places go with the town and come back the same.
    call_command("demo_town", "--reset", "--residents", "3000")
    assert Scan.objects.count() == 600


@pytest.mark.django_db
def test_the_demo_town_has_manned_checkpoints_with_a_day_of_logs():
    from datetime import timedelta

    from django.utils import timezone

    from fangkong.checkpoints import rosters
    from fangkong.checkpoints.models import Entry, Post, Shift

    call_command("demo_town", "--residents", "300")
    posts = list(Post.objects.order_by("name"))
    assert [p.kind for p in posts] == ["road", "expressway", "landing"]
    assert all(p.leader is not None for p in posts)
    assert Shift.objects.count() == 27  # 3 posts, 3 shifts, 3 days
    yesterday = timezone.localdate() - timedelta(days=1)
    assert Entry.objects.filter(at__date=yesterday).count() > 100
    now = timezone.now()
    assert rosters.gaps(posts, now, now + timedelta(hours=24)) == []
    client = Client()
    client.post("/accounts/login/", {"username": "cp11", "password": DEMO_PASSWORD})
    page = client.get(f"/checkpoints/{posts[1].pk}/log/")
    assert page.status_code == 200 and "S229" in page.content.decode()


@pytest.mark.django_db
def test_the_demo_town_has_a_traced_case():
    from fangkong.tracing.models import Case, Contact, ContactHow, Stay

    call_command("demo_town", "--residents", "3000")
    case = Case.objects.get()
    hows = set(Contact.objects.filter(case=case).values_list("how", flat=True))
    assert {ContactHow.HOUSEHOLD, ContactHow.COLOCATION} <= hows
    met = Contact.objects.filter(case=case, how=ContactHow.COLOCATION).first()
    assert met is not None and met.place is not None and met.place.name in met.reason
    assert Stay.objects.filter(case=case, place__isnull=False).count() == 1
    contacts = Contact.objects.filter(case=case).count()
    client = Client()
    assert client.login(username="commander", password=DEMO_PASSWORD)
    page = client.get(f"/tracing/cases/{case.pk}/")
    assert page.status_code == 200 and met.reason in page.content.decode()
    # Once more with --reset: the case goes with the town and comes back the same.
    call_command("demo_town", "--reset", "--residents", "3000")
    again = Case.objects.get()
    assert Contact.objects.filter(case=again).count() == contacts
