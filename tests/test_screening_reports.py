"""Returnee reports: the 50-report scenario against a risk-area list, the public form
(bad input, injection, duplicates, rate limits, nothing about anyone else), the status
lookup, posters, registration by staff, and verification recording the measure."""

from __future__ import annotations

import csv
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from fangkong.policy.models import Edition
from fangkong.policy.services import edition_copy
from fangkong.screening.models import (
    MeasureStatus,
    PersonMeasure,
    PublicHit,
    ReportStatus,
    ReturneeReport,
)
from fangkong.screening.services import ReportInput, report_submit
from fangkong.workorders import services as order_services
from fangkong.workorders.models import Status, WorkOrder

pytestmark = pytest.mark.django_db
DATA = Path(__file__).parent / "data"


def _order(report: ReturneeReport) -> WorkOrder:
    assert report.order is not None
    return report.order


def import_areas(client) -> None:
    upload = SimpleUploadedFile("risk_areas_2022.csv", (DATA / "risk_areas_2022.csv").read_bytes())
    preview = client.post("/policy/areas/import/", {"file": upload})
    assert preview.status_code == 200, preview.content.decode()[:2000]
    done = client.post("/policy/areas/import/", {"upload_id": preview.context["upload"].pk})
    assert "8 new" in done.content.decode()


def test_fifty_returnees_get_the_measure_of_their_edition_and_origin(world, login):
    # The county keeps the shared risk-area catalogue.
    admin = login("county")
    admin.cookies["django_language"] = "en"
    import_areas(admin)
    rows = list(csv.DictReader((DATA / "returnees_50.csv").open(encoding="utf-8")))
    assert len(rows) == 50
    now = timezone.now()
    for row in rows:
        report, created = report_submit(
            ReportInput(
                name=row["name"],
                id_number=row["id_number"],
                phone=row["phone"],
                origin_code=row["origin"],
                left_on=date.fromisoformat(row["left_on"]),
                arrived_on=date.fromisoformat(row["arrived_on"]),
                mode="train",
                vehicle="G1",
                jurisdiction=world.nodes[row["grid"]],
                address="某路1号",
            ),
            now=now,
        )
        assert created
        where = f"{row['name']} from {row['origin']} on {row['arrived_on']}"
        decision = report.decision
        assert (decision["edition"], report.category, report.proposed_place) == (
            row["edition"],
            row["category"],
            row["place"],
        ), (where, decision["reason"])
        periods = decision["periods"]
        assert (periods[0]["start"] if periods else "") == row["first_day"], where
        assert (periods[-1]["end"] if periods else "") == row["last_day"], where
        # Explained: where from, and the edition's name.
        edition = Edition.objects.get(key=row["edition"])
        assert edition.name in decision["reason"], where
        assert report.origin_label.split("市")[0] in decision["reason"], where
    # One verification order per report, in the right hands, by the deadline table.
    orders = {o.subject_id: o for o in WorkOrder.objects.filter(kind="verify_returnee")}
    assert len(orders) == 50
    owners = {"A1": world.users["gw_a1"], "B1": world.users["gw_b1"], "A": world.users["cadre_a"]}
    hours = {"arrival_high": 2, "arrival_medium": 4, "arrival_low": 12, "returnee": 24}
    for report in ReturneeReport.objects.all():
        order = orders[report.pk]
        key = next(k for k, n in world.nodes.items() if n == report.jurisdiction)
        assert order.assignee == owners[key], report.name
        assert order.due_at == now + timedelta(hours=hours[report.category])
        # The order says why, so the grid worker knows what to check at the door.
        assert report.decision["reason"][:60] in order.title


def _local_edition_now(world):
    """An edition in force today (the national ones ended in January 2023)."""
    nat9 = Edition.objects.get(key="nat-9")
    local = edition_copy(
        actor=world.users["commander"],
        source=nat9,
        name="演练规则",
        scope=world.nodes["T"],
        effective_from=date(2026, 1, 1),
    )
    Edition.objects.filter(pk=local.pk).update(effective_to=None)
    return local


def _form(village, **changes):
    today = timezone.localdate()
    data = {
        "name": "赵归来",
        "id_number": "110101199003071081",
        "phone": "13912345678",
        "province": "31",
        "city": "3101",
        "county": "310115",
        "street": "310115005",
        "place": "",
        "left_on": str(today - timedelta(days=1)),
        "arrived_on": str(today),
        "mode": "car",
        "vehicle": "沪A12345",
        "grid": "",
        "address": "四喜社区3幢2单元",
        "vaccination": "3",
        "website": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def risky_now(world):
    from fangkong.policy.models import RiskArea

    _local_edition_now(world)
    RiskArea.objects.create(
        code="310115005",
        name="上海市浦东新区陆家嘴街道",
        level="high",
        effective_from=timezone.localdate() - timedelta(days=5),
    )


def test_a_resident_reports_on_the_public_form_and_gets_a_code(world, login, risky_now):
    client = login("anonymous")
    village = world.nodes["A"]
    page = client.get(f"/r/{village.code}/")
    assert page.status_code == 200
    body = page.content.decode()
    # Nothing about anyone: no resident, no report, no staff name.
    for marker in ("沈楼居", "王指挥", "李社干"):
        assert marker not in body
    response = client.post(f"/r/{village.code}/", _form(village, grid="330411102201-G01"))
    assert response.status_code == 200, response.content.decode()[:3000]
    report = ReturneeReport.objects.get()
    assert report.code in response.content.decode()
    assert "110***********1081" in response.content.decode()
    assert (report.category, report.proposed_place) == ("arrival_high", "central")
    assert report.jurisdiction == world.nodes["A1"] and report.vehicle == "沪A12345"
    assert report.id_number == "110101199003071081"  # encrypted at rest, clear in Python
    order = _order(report)
    assert order.assignee == world.users["gw_a1"] and order.priority == 1
    assert timedelta(hours=1, minutes=59) < order.due_at - report.created_at <= timedelta(hours=2)
    proposed = PersonMeasure.objects.get(report=report)
    assert proposed.status == MeasureStatus.PROPOSED and proposed.place == "central"
    # Without a grid, the village cadre takes the order and hands it on.
    client.post(
        f"/r/{village.code}/", _form(village, id_number="11010119900307117X", phone="13912345679")
    )
    second = ReturneeReport.objects.get(
        phone_hash__isnull=False, name="赵归来", jurisdiction=village
    )
    assert _order(second).assignee == world.users["cadre_a"]


def test_a_resubmitted_report_is_the_same_report(world, login, risky_now):
    client, village = login("anonymous"), world.nodes["A"]
    first = client.post(f"/r/{village.code}/", _form(village))
    again = client.post(f"/r/{village.code}/", _form(village, address="四喜社区3幢2单元301"))
    report = ReturneeReport.objects.get()
    assert report.code in first.content.decode() and report.code in again.content.decode()
    assert report.address == "四喜社区3幢2单元301"
    assert WorkOrder.objects.filter(kind="verify_returnee").count() == 1
    assert PersonMeasure.objects.filter(report=report).count() == 1


def test_someone_else_s_id_with_another_phone_learns_nothing(world, login, risky_now):
    client, village = login("anonymous"), world.nodes["A"]
    client.post(f"/r/{village.code}/", _form(village))
    original = ReturneeReport.objects.get()
    other = client.post(
        f"/r/{village.code}/", _form(village, name="冒名者", phone="13800001111", address="别处")
    )
    body = other.content.decode()
    assert original.code not in body and "四喜社区3幢2单元" not in body and "赵归来" not in body
    copy = ReturneeReport.objects.exclude(pk=original.pk).get()
    assert copy.status == ReportStatus.DUPLICATE and copy.duplicate_of == original
    assert copy.order is None  # no second visit for the same person
    # The status lookup with the impostor's phone shows only the impostor's own report.
    status = client.post("/r/status/", {"code": original.code, "phone": "13800001111"})
    assert status.status_code == 404 and "赵归来" not in status.content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"id_number": "110101199003071092"}, "id_number", "check digit"),
        ({"arrived_on": 2}, "arrived_on", "future"),
        ({"left_on": 1}, "left_on", "before you arrived"),
        ({"arrived_on": -40, "left_on": -41}, "arrived_on", "last 30 days"),
        ({"name": "<script>alert(1)</script>"}, "name", "not allowed"),
        ({"name": "Robert'); DROP TABLE--"}, "name", "as on the ID card"),
        ({"address": "<img src=x onerror=alert(1)>"}, "address", "not allowed"),
        ({"phone": "12345"}, "phone", "11 digits"),
        ({"vehicle": "京AI2345"}, "vehicle", "not a licence plate"),
        ({"vehicle": ""}, "vehicle", "plate, train or flight"),
        ({"street": "440305001"}, "street", "valid choice"),
        ({"county": ""}, "county", "required"),
        ({"website": "http://spam.example"}, "website", "empty"),
    ],
    ids=[
        "checksum",
        "future",
        "left-after-arrival",
        "too-old",
        "script",
        "sql",
        "html-address",
        "phone",
        "plate",
        "no-vehicle",
        "street-elsewhere",
        "no-county",
        "honeypot",
    ],
)
def test_bad_input_is_refused_field_by_field_and_saves_nothing(
    world, login, changes, field, message
):
    client, village = login("anonymous"), world.nodes["A"]
    client.cookies["django_language"] = "en"
    today = timezone.localdate()
    # Dates are given as days from today.
    changes = {
        k: str(today + timedelta(days=v)) if isinstance(v, int) else v for k, v in changes.items()
    }
    response = client.post(f"/r/{village.code}/", _form(village, **changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert not ReturneeReport.objects.exists() and not WorkOrder.objects.exists()


def _household(i: int) -> dict[str, str]:
    """The i-th household's own ID number and phone."""
    from fangkong.core.identity import check_character

    body = f"330411{1950 + i:04d}0101{i:03d}"
    return {"id_number": body + check_character(body), "phone": f"1391234{i:04d}"}


def test_the_form_is_rate_limited_per_network(world, login, risky_now, frozen_clock):
    # A network is many households (a village office's Wi-Fi, a carrier's address): 30
    # accepted reports in ten minutes pass, the next waits for the window to end.
    client, village = login("anonymous"), world.nodes["A"]
    for i in range(30):
        ok = client.post(
            f"/r/{village.code}/", _form(village, **_household(i)), REMOTE_ADDR="203.0.113.7"
        )
        assert ok.status_code == 200, i
    blocked = client.post(
        f"/r/{village.code}/", _form(village, **_household(30)), REMOTE_ADDR="203.0.113.7"
    )
    left = 600 - int(frozen_clock.timestamp()) % 600
    assert blocked.status_code == 429 and blocked["Retry-After"] == str(left)
    assert ReturneeReport.objects.count() == 30
    # Another network is not blocked; the counters hold no address, phone or ID in clear.
    other = client.post(
        f"/r/{village.code}/", _form(village, **_household(31)), REMOTE_ADDR="198.51.100.9"
    )
    assert other.status_code == 200
    keys = " ".join(PublicHit.objects.values_list("key", flat=True))
    for clear in ("203.0.113", "1391234", "330411"):
        assert clear not in keys


def test_a_status_lookup_shows_only_the_own_report_and_resists_guessing(
    world, login, risky_now, frozen_clock
):
    client, village = login("anonymous"), world.nodes["A"]
    client.post(f"/r/{village.code}/", _form(village))
    report = ReturneeReport.objects.get()
    own = client.post("/r/status/", {"code": report.code.lower(), "phone": "139 1234 5678"})
    assert own.status_code == 200 and report.origin_label in own.content.decode()
    assert "1081" in own.content.decode() and "110101199003071081" not in own.content.decode()
    for _i in range(4):  # five lookups of a code an hour, the right one included
        wrong = client.post(
            "/r/status/", {"code": report.code, "phone": "13900000000"}, REMOTE_ADDR="192.0.2.1"
        )
        assert wrong.status_code == 404
    # The code is now locked for the hour, even with the right phone from elsewhere.
    locked = client.post(
        "/r/status/", {"code": report.code, "phone": "13912345678"}, REMOTE_ADDR="192.0.2.2"
    )
    assert locked.status_code == 429


def test_unknown_or_non_village_codes_are_not_found(world, login):
    client = login("anonymous")
    assert client.get("/r/330411102201-G01/").status_code == 404
    assert client.get("/r/999999/").status_code == 404


def test_posters_hold_the_qr_code_of_the_form(world, login):
    client = login("commander")
    village = client.get(f"/screening/poster/{world.nodes['A'].code}/").content.decode()
    assert village.count("<svg") == 1 and f"/r/{world.nodes['A'].code}/" in village
    town = client.get(f"/screening/poster/{world.nodes['T'].code}/").content.decode()
    assert town.count("<svg") == 2  # one page per village
    grid = login("gw_a1").get(f"/screening/poster/{world.nodes['A1'].code}/").content.decode()
    assert "?grid=330411102201-G01" in grid and "红星网格" in grid


def test_a_grid_worker_registers_a_returnee_in_their_grid_and_verifies_them(
    world, login, risky_now
):
    from tests.world import ensure_registry

    ensure_registry(world)
    worker = login("gw_a1")
    village = world.nodes["A"]
    page = worker.get("/screening/returnees/new/")
    assert page.status_code == 200
    assert [c for c, _n in page.context["form"].fields["grid"].choices if c] == ["330411102201-G01"]
    data = _form(village, name="沈楼居", id_number="11010519491231002X", grid="330411102201-G01")
    data["village"] = village.code
    done = worker.post("/screening/returnees/new/", data)
    assert done.status_code == 200, done.content.decode()[:3000]
    report = ReturneeReport.objects.get()
    assert report.source == "staff" and report.created_by == world.users["gw_a1"]
    assert report.person == world.persons["A1M1"]  # the registry's resident, by ID
    order = _order(report)
    order_services.order_complete(
        order_id=order.pk,
        actor=world.users["gw_a1"],
        result={"outcome": "found_controlled", "measure": "central", "note": "已转运至集中隔离点"},
        client_id=uuid.uuid4(),
    )
    report.refresh_from_db()
    assert report.status == ReportStatus.VERIFIED
    verified = PersonMeasure.objects.get(report=report, status=MeasureStatus.VERIFIED)
    assert (verified.person, verified.place, verified.decided_by) == (
        world.persons["A1M1"],
        "central",
        world.users["gw_a1"],
    )
    assert WorkOrder.objects.get(pk=order.pk).status == Status.DONE
    # The command post sees it on today's list, counted by origin risk and measure.
    listing = login("commander").get("/screening/returnees/")
    assert listing.status_code == 200
    assert (
        "arrival_high" in listing.content.decode()
        and listing.context["total"] == 1
        and listing.context["unverified"] == 0
    )
    assert login("gw_b1").get(f"/screening/r/{report.pk}/").status_code == 404


def test_the_deadline_table_sets_the_verification_time(world, risky_now):
    from fangkong.screening.models import VerifyDeadline

    VerifyDeadline.objects.filter(category="arrival_high").update(hours=Decimal("0.5"))
    now = timezone.now()
    report, _created = report_submit(
        ReportInput(
            name="钱快",
            id_number="110101199003071081",
            phone="13912345678",
            origin_code="310115005",
            left_on=timezone.localdate() - timedelta(days=1),
            arrived_on=timezone.localdate(),
            mode="other",
            jurisdiction=world.nodes["B1"],
            address="光明路1号",
        ),
        now=now,
    )
    assert _order(report).due_at == now + timedelta(minutes=30)
    assert _order(report).assignee == world.users["gw_b1"]


def test_the_list_and_the_report_show_today_s_health_code_colour(world, login, risky_now):
    client, village = login("anonymous"), world.nodes["A"]
    client.post(f"/r/{village.code}/", _form(village, grid="330411102201-G01"))
    # A close-contact-free arrival from a high-risk street in centralised isolation: red.
    report = ReturneeReport.objects.get()
    commander = login("commander")
    listing = commander.get("/screening/returnees/")
    assert [r.colour for r in listing.context["page"]] == ["red"]
    detail = commander.get(f"/screening/r/{report.pk}/")
    assert detail.context["colour"] == "red"
    assert [r.trigger for r in detail.context["colour_rules"]] == ["central"]
    # A plain returnee needs nothing and stays green.
    client.post(
        f"/r/{village.code}/",
        _form(
            village, id_number="11010119900307117X", phone="13912345679", county="310112", street=""
        ),
    )
    other = ReturneeReport.objects.exclude(pk=report.pk).get()
    assert other.category == "returnee"
    assert commander.get(f"/screening/r/{other.pk}/").context["colour"] == "green"


def test_the_commander_sets_the_verification_deadlines(world, login, risky_now):
    from fangkong.audit.models import AuditEvent
    from fangkong.screening.services import verify_hours_at

    client = login("commander")
    client.cookies["django_language"] = "en"
    page = client.get("/screening/deadlines/")
    formset = page.context["formset"]
    data = {f"form-{k}": v for k, v in formset.management_form.initial.items()}
    for i, form in enumerate(formset.forms):
        category = form.initial["category"]
        data[f"form-{i}-category"] = category
        data[f"form-{i}-hours"] = (
            "1.5" if category == "arrival_high" else str(form.initial["hours"])
        )
    assert client.post("/screening/deadlines/", data).status_code == 302
    # For the commander's own town.
    assert verify_hours_at(world.nodes["B1"].path)["arrival_high"] == Decimal("1.5")
    assert AuditEvent.objects.filter(object_repr="verification deadlines").exists()
    bad = dict(data, **{"form-0-hours": "0"})
    response = client.post("/screening/deadlines/", bad)
    assert response.status_code == 400 and "half an hour" in response.content.decode()
    assert login("cadre_a").get("/screening/deadlines/").status_code == 403
