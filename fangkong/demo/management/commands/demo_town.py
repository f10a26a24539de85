from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from fangkong.assist.demo import build_demo_care, delete_care_under
from fangkong.checkpoints.demo import build_demo_checkpoints, delete_checkpoints_under
from fangkong.control.demo import build_demo_control, delete_control_under
from fangkong.org.demo import COUNTY_CODE, DEMO_PASSWORD, build_demo_town, delete_demo_town
from fangkong.org.models import Jurisdiction
from fangkong.people.demo import build_demo_people, delete_people_under
from fangkong.people.services import registry_recount
from fangkong.places.demo import build_demo_places, delete_places_under
from fangkong.reports.demo import build_demo_reports, delete_reports_under
from fangkong.response.demo import build_demo_response, delete_response_under
from fangkong.screening.demo import build_demo_screening, delete_screening_under
from fangkong.testing.demo import build_demo_testing, delete_testing_under
from fangkong.testing.demo_periodic import build_demo_periodic
from fangkong.tracing.demo import build_demo_tracing, delete_tracing_under
from fangkong.vaccination.demo import build_demo_vaccination, delete_vaccination_under
from fangkong.workorders.demo import build_demo_orders, delete_orders_under
from fangkong.zones.demo import build_demo_zones, delete_zones_under


class Command(BaseCommand):
    help = "Build the deterministic synthetic demo town (浦市镇) and print one login per role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2022)
        parser.add_argument("--reset", action="store_true", help="delete the demo town first")
        parser.add_argument(
            "--if-missing", action="store_true", help="do nothing when the demo town exists"
        )
        parser.add_argument(
            "--residents",
            type=int,
            default=60_000,
            help="about how many residents to generate (3 per household on average)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        exists = Jurisdiction.objects.filter(code=COUNTY_CODE).exists()
        if exists and options["if_missing"]:
            self.stdout.write("Demo town already present.")
            self.print_logins()
            return
        if exists and options["reset"]:
            self.stdout.write("Deleting the existing demo town ...")
            delete_reports_under(f"/{COUNTY_CODE}/")
            delete_tracing_under(f"/{COUNTY_CODE}/")
            delete_response_under(f"/{COUNTY_CODE}/")
            delete_care_under(f"/{COUNTY_CODE}/")
            delete_checkpoints_under(f"/{COUNTY_CODE}/")
            delete_zones_under(f"/{COUNTY_CODE}/")
            delete_places_under(f"/{COUNTY_CODE}/")
            delete_vaccination_under(f"/{COUNTY_CODE}/")
            delete_testing_under(f"/{COUNTY_CODE}/")
            delete_control_under(f"/{COUNTY_CODE}/")
            delete_screening_under(f"/{COUNTY_CODE}/")
            delete_orders_under(f"/{COUNTY_CODE}/")
            delete_people_under(f"/{COUNTY_CODE}/")
            delete_demo_town()
        self.stdout.write("Building the demo town ...")
        started = time.perf_counter()
        result = build_demo_town(
            seed=options["seed"],
            total_households=max(options["residents"] // 3, 30),
            progress=self.stdout.write,
        )
        households, residents = 0, 0
        if options["residents"] > 0:
            households, residents = build_demo_people(
                quotas=result.household_quotas,
                village_names=result.village_names,
                seed=options["seed"],
                today=timezone.localdate(),
                progress=self.stdout.write,
            )
            registry_recount()
        orders = build_demo_orders(f"/{COUNTY_CODE}/", seed=options["seed"]) if residents else 0
        screening = (
            build_demo_screening(f"/{COUNTY_CODE}/", seed=options["seed"]) if residents else {}
        )
        control = build_demo_control(f"/{COUNTY_CODE}/", seed=options["seed"]) if residents else {}
        vaccination = (
            build_demo_vaccination(f"/{COUNTY_CODE}/", seed=options["seed"]) if residents else {}
        )
        workers = build_demo_periodic(f"/{COUNTY_CODE}/", seed=options["seed"]) if residents else 0
        testing = build_demo_testing(f"/{COUNTY_CODE}/", seed=options["seed"]) if residents else {}
        zones = build_demo_zones(f"/{COUNTY_CODE}/") if residents else {}
        response = build_demo_response(f"/{COUNTY_CODE}/")
        care = build_demo_care(f"/{COUNTY_CODE}/") if residents else {}
        places = (
            build_demo_places(f"/{COUNTY_CODE}/", seed=options["seed"], password=DEMO_PASSWORD)
            if residents
            else {}
        )
        checkpoints = build_demo_checkpoints(f"/{COUNTY_CODE}/", seed=options["seed"])
        tracing = build_demo_tracing(f"/{COUNTY_CODE}/") if residents else {}
        # The bulletins count the doses, the samples and the zones' measures: built last.
        reports = build_demo_reports(f"/{COUNTY_CODE}/", seed=options["seed"]) if residents else {}
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo town built in {time.perf_counter() - started:.1f} s: {result.nodes} "
                f"jurisdiction nodes, {result.staff} staff, {result.teams} teams, "
                f"{households} households, {residents} residents, {orders} work orders, "
                f"{screening.get('returnees', 0)} returnee reports, "
                f"{screening.get('visits', 0)} households in a door-knocking sweep, "
                f"{control.get('orders', 0)} people under control at {control.get('sites', 0)} "
                f"sites and at home with {control.get('transfers', 0)} transfers, "
                f"{testing.get('rounds', 0)} testing rounds with {testing.get('samples', 0)} "
                "samples, "
                f"{reports.get('reports', 0)} daily reports and {reports.get('bulletins', 0)} "
                f"bulletins, {vaccination.get('doses', 0)} vaccine doses, "
                f"{workers} key-occupation workers; {zones.get('zones', 0)} zones around one "
                "sealed building, "
                f"{zones.get('measures', 0)} residents under their measures; "
                f"the golden-24-hours plan and {response.get('drills', 0)} finished drill "
                f"({response.get('called', 0)} called); "
                f"{care.get('register', 0)} vulnerable people on the register, "
                f"{care.get('checks', 0)} daily checks open, a store with "
                f"{care.get('meals', 0)} lunch handed out; "
                f"{places.get('places', 0)} places with {places.get('scans', 0)} scans today "
                f"and a patrol round of {places.get('inspections', 0)} inspections "
                f"({places.get('findings', 0)} findings); "
                f"{checkpoints.get('posts', 0)} checkpoints with {checkpoints.get('shifts', 0)} "
                f"shifts and {checkpoints.get('entries', 0)} log entries; "
                f"{tracing.get('cases', 0)} case with {tracing.get('contacts', 0)} contacts "
                f"and {tracing.get('stays', 0)} places from its interview."
            )
        )
        self.print_logins()

    def print_logins(self) -> None:
        from fangkong.org.models import Membership

        rows = []
        seen: set[str] = set()
        for m in (
            Membership.objects.filter(user__username__in=DEMO_USERNAMES)
            .select_related("user", "jurisdiction")
            .order_by("role")
        ):
            if m.user.username in seen:
                continue
            seen.add(m.user.username)
            rows.append((m.get_role_display(), m.user.username, m.jurisdiction.name))
        order = {u: i for i, u in enumerate(DEMO_USERNAMES)}
        rows.sort(key=lambda r: order[r[1]])
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role, username, node in rows:
            # User name first: Chinese role names are double-width and break alignment.
            self.stdout.write(f"  {username:<12} {role} · {node}")


DEMO_USERNAMES = [
    "commander",
    "town01",
    "cadre011",
    "gl0101",
    "gw0101",
    "mg0001",
    "vol01011",
    "cp11",
    "sampler1",
    "lab1",
    "doctor1",
    "patrol1",
    "supervisor",
    "auditor",
    "admin",
]
