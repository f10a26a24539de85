"""The permission-matrix checker: every route x every persona x every object location.

Routes come from the URL resolver and the OpenAPI schema, so a route added later is
checked without editing this file. A route must declare its access (`fk_access` on a
view, `x-fangkong-access` on an API operation); an undeclared route is a failure. An
object route is called with objects at every node of the test world; a list route's
page must not contain the name of anything outside the persona's scope.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from fangkong.accounts.models import LoginThrottle
from fangkong.control.models import (
    ControlEvent,
    ControlOrder,
    HealthCheck,
    IsolationRoom,
    IsolationSite,
    Transfer,
)
from fangkong.core.models import Upload
from fangkong.notify.models import Channel, Delivery, MessageTemplate, Notice
from fangkong.org.access import WRITES_AT_EXTENSION
from fangkong.org.models import (
    ApiClient,
    Jurisdiction,
    Membership,
    StaffProfile,
    Team,
    TeamMember,
)
from fangkong.org.roles import Perm, permissions_for
from fangkong.people.models import Household, ImportJob, Person, PersonChange
from fangkong.policy.models import Edition, Measure, RiskArea, RiskAreaChange
from fangkong.reports.models import Bulletin, DailyReport, ReportConfig, ReportField
from fangkong.screening.models import (
    PersonMeasure,
    PushedList,
    PushedRow,
    ReturneeReport,
    Sweep,
    SweepVisit,
)
from fangkong.testing.models_periodic import OccupationAssignment
from fangkong.vaccination.models import Contraindication, Dose
from fangkong.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderPhoto
from tests.matrix_checkpoints import MODELS as CHECKPOINT_MODELS
from tests.matrix_checkpoints import checkpoint_cases, ensure_checkpoints
from tests.matrix_places import MODELS as PLACE_MODELS
from tests.matrix_places import ensure_places, places_cases
from tests.matrix_response import MODELS as RESPONSE_MODELS
from tests.matrix_response import ensure_response, response_cases
from tests.matrix_tracing import MODELS as TRACING_MODELS
from tests.matrix_tracing import ensure_tracing, tracing_cases
from tests.matrix_zones import MODELS as ZONE_MODELS
from tests.matrix_zones import (
    ensure_care,
    ensure_requests,
    ensure_stores,
    ensure_zones,
    zone_cases,
)
from tests.world import (
    KEY_PERSONAS,
    NODES,
    PERSONAS,
    World,
    ensure_orders,
    ensure_photos,
    ensure_pushed,
    ensure_registry,
    ensure_reports,
    ensure_sweep,
)

# People, machine clients' keys (API only: a key opens no page), and nobody.
PERSONA_NAMES = [*PERSONAS, *KEY_PERSONAS, "anonymous"]
DENIED = {401, 403, 404, 405}
# Endpoints of the API framework itself: the schema and its docs page hold no data.
FRAMEWORK_PUBLIC = {"api:openapi-json", "api:openapi-view"}
# Public routes that change state on POST by design (they change the session only).
FINGERPRINT_MODELS = (
    ApiClient,
    Jurisdiction,
    StaffProfile,
    Membership,
    Team,
    TeamMember,
    Upload,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
    Notice,
    RiskArea,
    RiskAreaChange,
    Edition,
    Measure,
    ReturneeReport,
    PersonMeasure,
    PushedList,
    PushedRow,
    Sweep,
    SweepVisit,
    Household,
    Person,
    PersonChange,
    ImportJob,
    Channel,
    MessageTemplate,
    Delivery,
    Bulletin,
    DailyReport,
    ReportConfig,
    ReportField,
    ControlOrder,
    ControlEvent,
    HealthCheck,
    IsolationSite,
    IsolationRoom,
    Transfer,
    OccupationAssignment,
    Dose,
    Contraindication,
    *ZONE_MODELS,
    *RESPONSE_MODELS,
    *TRACING_MODELS,
    *PLACE_MODELS,
    *CHECKPOINT_MODELS,
)


# Where an object lives, for the matrix: a node key of the world ("T"), or one of
#   None          no node: anyone holding the route's permission (a national edition);
#   "~T"          organised at T for everyone under it: seen at, above and below T;
#   "@commander"  owned by that persona alone (an upload, an import job).
# Writing is checked against `write` when it differs: "C" (only a manager of the top of
# the tree changes it), or "-" (nobody does: a shipped national edition).
SAME = "="


@dataclass(frozen=True)
class Obj:
    value: str
    node: str | None
    write: str | None = SAME


@dataclass(frozen=True)
class Case:
    """One concrete request target: a URL with its object's node (None: no object)."""

    url: str
    node: str | None
    owner: str | None = None  # the persona the object is assigned to, if any
    write: str | None = SAME  # where writes are checked (see Obj)


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    access: str  # "public" | "signed_in" | a Perm value
    writes: tuple[str, ...]
    writes_at: str  # see ViewAccess.writes_at
    top: bool  # every method needs the permission at the top of the tree
    build: Callable[[dict[str, str]], str]
    params: tuple[str, ...]


def _walk(patterns: list[Any], prefix: str = "", ns: str = "") -> Iterator[tuple[str, str, Any]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            sub_ns = ns
            if p.namespace:
                sub_ns = f"{ns}:{p.namespace}" if ns else p.namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), sub_ns)
        elif isinstance(p, URLPattern):
            name = f"{ns}:{p.name}" if ns and p.name else (p.name or "")
            yield name, prefix + str(p.pattern), p.callback


_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>[^)]*\)")


def _url_builder(pattern: str) -> tuple[Callable[[dict[str, str]], str], tuple[str, ...]]:
    names = tuple(m.group("name") or m.group("rname") for m in _PARAM.finditer(pattern))

    def build(values: dict[str, str]) -> str:
        def sub(m: re.Match[str]) -> str:
            return values[m.group("name") or m.group("rname")]

        path = _PARAM.sub(sub, pattern).replace("^", "").replace("$", "").replace("\\.", ".")
        return "/" + path

    return build, names


def view_routes(urlconf: str | None = None) -> tuple[list[Route], list[str]]:
    routes: list[Route] = []
    problems: list[str] = []
    for name, pattern, callback in _walk(get_resolver(urlconf).url_patterns):
        # API operations are checked from the OpenAPI schema below; the framework's own
        # pages (schema, docs, root) hold no data.
        target = getattr(callback, "func", callback)
        if name in FRAMEWORK_PUBLIC or getattr(target, "__module__", "").startswith("ninja"):
            continue
        access = getattr(callback, "fk_access", None)
        if access is None:
            problems.append(
                f"{name or pattern}: the view declares no access (public/signed_in/requires)"
            )
            continue
        build, params = _url_builder(pattern)
        label = access.perm.value if access.perm else access.kind
        if access.kind == "assignee" and access.perm:
            label = f"assignee:{access.perm.value}"  # else "assignee": the assignee alone
        routes.append(
            Route(name, pattern, label, access.writes, access.writes_at, access.top, build, params)
        )
    return routes, problems


def _example(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A minimal valid value for a JSON schema, so write operations get past validation."""
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        return _example(schema, schema["components"]["schemas"][name])
    kind = spec.get("type")
    if kind == "object" or "properties" in spec:
        return {
            k: _example(schema, v)
            for k, v in spec.get("properties", {}).items()
            if k in spec.get("required", [])
        }
    return {
        "string": "matrix check purpose",
        "integer": 1,
        "number": 1,
        "boolean": False,
        "array": [],
    }.get(kind or "string")


def api_routes(client: Client) -> tuple[list[tuple[str, str, str, str]], list[str]]:
    schema = json.loads(client.get("/api/v1/openapi.json").content)
    ops: list[tuple[str, str, str, str]] = []
    problems: list[str] = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            access = op.get("x-fangkong-access")
            if access is None:
                problems.append(f"API {method.upper()} {path}: no x-fangkong-access declared")
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            example = _example(schema, body["schema"]) if body else {}
            ops.append((method.upper(), path, access, json.dumps(example)))
    return ops, problems


def _writes_at(client: Client) -> dict[tuple[str, str], str]:
    """The operations whose writes land elsewhere than the object's node (see
    ViewAccess.writes_at): "within" (at, above or below it) or "top"."""
    schema = json.loads(client.get("/api/v1/openapi.json").content)
    return {
        (method.upper(), path): op[WRITES_AT_EXTENSION]
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
        if WRITES_AT_EXTENSION in op
    }


def param_cases(world: World, param: str) -> list[Obj]:
    """Objects for a URL parameter, each with the node it lives at (see Obj)."""
    leaves = ("A1M1", "A2", "B1", "P1M1")
    if param == "code":
        return [Obj(world.nodes[key].code, key) for key, *_ in NODES]
    if param == "staff_id":
        return [Obj(str(world.staff[key].pk), key) for key, *_ in NODES]
    if param == "team_id":
        return [Obj(str(t.pk), key) for key, t in world.teams.items()]
    if param == "upload_id":
        upload = Upload.objects.create(
            owner=world.users["commander"], kind="org.tree", filename="x.csv", sha256="0", data=b"x"
        )
        return [Obj(str(upload.pk), "@commander")]
    if param == "person_id":
        ensure_registry(world)
        return [Obj(str(world.persons[key].pk), key) for key in leaves]
    if param == "household_id":
        ensure_registry(world)
        return [Obj(str(world.households[key].pk), key) for key in leaves]
    if param == "order_id":
        ensure_orders(world)
        return [Obj(str(o.pk), key) for key, o in world.orders.items()]
    if param == "photo_id":
        return [Obj(str(p.pk), key) for key, p in ensure_photos(world).items()]
    if param == "area_id":
        area = RiskArea.objects.get_or_create(
            code="310115005",
            name="上海市浦东新区陆家嘴街道",
            level="high",
            effective_from="2022-07-01",
        )[0]
        # The risk-area catalogue serves every town: read by all, changed from the top.
        return [Obj(str(area.pk), None, write="C")]
    if param == "edition_id":
        return [
            Obj(str(Edition.objects.get(key="nat-9").pk), None, write="-"),
            *(Obj(str(e.pk), key) for key, e in ensure_editions(world).items()),
        ]
    if param == "report_id":
        return [Obj(str(r.pk), key) for key, r in ensure_reports(world).items()]
    if param == "list_id":
        ensure_pushed(world)
        return [Obj(str(p.pk), f"~{town}") for town, p in world.pushed_lists.items()]
    if param == "row_id":
        ensure_pushed(world)
        return [Obj(str(r.pk), key) for key, r in world.pushed_rows.items()]
    if param == "sweep_id":
        ensure_sweep(world)
        return [Obj(str(sw.pk), f"~{town}") for town, sw in world.sweeps.items()]
    if param == "control_id":
        return [Obj(str(o.pk), key) for key, o in ensure_control(world).items()]
    if param in ("site_id", "room_id", "transfer_id"):
        made = ensure_sites(world)
        return [Obj(str(made[key][param].pk), key) for key in ("T", "U")]
    if param == "proposal_id":
        return [Obj(str(p.pk), key) for key, p in ensure_recheck(world).items()]
    if param == "token":
        # A signed link or check code a resident holds; a made-up one shows nothing.
        return [Obj("not-a-valid-token", None)]
    if param == "village":
        return [Obj(world.nodes[key].code, key) for key in ("A", "B", "P")]
    if param == "bulletin_id":
        return [Obj(str(b.pk), key) for key, b in _bulletins(world).items()]
    if param == "doc":
        return [Obj("docx", None), Obj("xlsx", None)]
    if param == "register_key":
        return [Obj("elderly_alone", None), Obj("floating", None)]
    if param == "fmt":
        return [Obj("csv", None), Obj("xlsx", None)]
    if param == "job_id":
        from fangkong.people.models import ImportJob, ImportStatus

        job = ImportJob.objects.create(
            owner=world.users["commander"], filename="x.csv", status=ImportStatus.DONE
        )
        return [Obj(str(job.pk), "@commander")]
    if param == "pushed_job_id":
        from fangkong.people.models import ImportJob, ImportStatus

        job = ImportJob.objects.create(
            owner=world.users["commander"],
            kind="pushed",
            filename="x.csv",
            status=ImportStatus.DONE,
        )
        return [Obj(str(job.pk), "@commander")]
    if param == "channel_id":
        return [Obj(str(c.pk), key) for key, c in _channels(world).items()]
    if param == "template_id":
        # Templates are the installation's wording: read by every manager, changed from
        # the top of the tree.
        template = MessageTemplate.objects.get(key="letter_to_villagers")
        return [Obj(str(template.pk), None, write="C")]
    if param == "delivery_id":
        from django.utils import timezone

        out = []
        for key, channel in _channels(world).items():
            delivery = Delivery.objects.get_or_create(
                channel=channel,
                key=f"matrix-delivery-{key}",
                defaults={
                    "title": "防控提醒",
                    "body": "请按时报送",
                    "event": "broadcast",
                    "status": "failed",
                    "attempts": 6,
                    "last_error": "HTTP 500",
                    "next_try_at": timezone.now(),
                },
            )[0]
            out.append(Obj(str(delivery.pk), key))
        return out
    if param == "client_id":
        return [Obj(str(c.pk), key) for key, c in _api_clients(world).items()]
    if param == "round_id":
        # A testing round concerns its town's every village and grid (seen at, above
        # and below the town).
        return [Obj(str(r.pk), f"~{town}") for town, r in ensure_testing(world)[0].items()]
    if param == "recall_id":
        return [Obj(str(r.pk), key) for key, r in ensure_testing(world)[1].items()]
    if param == "results_upload_id":
        upload = Upload.objects.create(
            owner=world.users["lab"],
            kind="testing.results",
            filename="x.csv",
            sha256="0",
            data=b"x",
        )
        return [Obj(str(upload.pk), "@lab")]
    if param == "vaccination_upload_id":
        upload = Upload.objects.create(
            owner=world.users["commander"],
            kind="vaccination.doses",
            filename="x.csv",
            sha256="0",
            data=b"x",
        )
        return [Obj(str(upload.pk), "@commander")]
    if zone_cases(world, param):
        return [Obj(value, node, write) for value, node, write in zone_cases(world, param)]
    if response_cases(world, param):
        return [Obj(value, node, write) for value, node, write in response_cases(world, param)]
    if places_cases(world, param):
        return [Obj(value, node) for value, node in places_cases(world, param)]
    if tracing_cases(world, param):
        return [Obj(value, node, write) for value, node, write in tracing_cases(world, param)]
    if checkpoint_cases(world, param):
        return [Obj(v, node, write) for v, node, write in checkpoint_cases(world, param)]
    raise AssertionError(
        f"the matrix has no objects for URL parameter {param!r}: add a case in tests/matrix.py"
    )


def ensure_control(world: World) -> dict[str, Any]:
    """A released control order (a day of home monitoring) of each leaf's resident
    (idempotent): every control route can be read, and a write to it is refused with
    reasons rather than changing anything."""
    from datetime import timedelta

    from django.utils import timezone

    from fangkong.control.models import ControlOrder, OrderStatus
    from fangkong.control.release import order_release
    from fangkong.control.services import order_create

    ensure_registry(world)
    out: dict[str, Any] = {}
    for key in ("A1M1", "A2", "B1", "P1M1"):
        person = world.persons[key]
        found = ControlOrder.objects.filter(person=person, status=OrderStatus.RELEASED).first()
        if found is None:
            commander = world.users["commander_u" if key == "P1M1" else "commander"]
            made = order_create(
                person=person,
                type="home_monitoring",
                starts_on=timezone.localdate() - timedelta(days=1),
                days=1,
                actor=commander,
                reason="矩阵检查",
            ).orders[0]
            found = order_release(order_id=made.pk, actor=commander, expected_version=made.version)
        out[key] = found
    return out


def ensure_sites(world: World) -> dict[str, dict[str, Any]]:
    """An isolation site of each town with a room, and a planned transfer of one of the
    town's residents to it (idempotent): {town key: {"site_id": site, "room_id": room,
    "transfer_id": transfer}}."""
    from fangkong.control.models import IsolationSite, Transfer
    from fangkong.control.sites import site_create
    from fangkong.control.transfers import Rider, transfer_create

    ensure_registry(world)
    out: dict[str, dict[str, Any]] = {}
    for key, persona, rider, name in (
        ("T", "commander", "A1M1", "王店矩阵隔离点"),
        ("U", "commander_u", "P1M1", "洪合矩阵隔离点"),
    ):
        node = world.nodes[key]
        site = IsolationSite.objects.filter(jurisdiction=node, name=name).first()
        if site is None:
            site = site_create(
                actor=world.users[persona],
                jurisdiction=node,
                name=name,
                kind="hotel",
                rooms=[("901", 2)],
            )
        transfer = Transfer.objects.filter(destination=site).first()
        if transfer is None:
            transfer = transfer_create(
                actor=world.users[persona],
                jurisdiction=node,
                pickup="矩阵卡口",
                destination=site,
                vehicle="浙F90000",
                driver="矩阵司机",
                escort=world.users[persona],
                riders=[Rider(world.persons[rider])],
            )
        room = site.rooms.order_by("id").first()
        out[key] = {"site_id": site, "room_id": room, "transfer_id": transfer}
        if name not in world.extra_markers.get(key, []):
            world.extra_markers.setdefault(key, []).append(name)
    return out


def ensure_recheck(world: World) -> dict[str, Any]:
    """A re-check proposal of each leaf's resident, already rejected (idempotent): the
    review routes can be read, and deciding one again changes nothing."""
    from fangkong.control.models_recheck import RecheckProposal, RecheckRun

    ensure_registry(world)
    run = RecheckRun.objects.get_or_create(status="done", changes=[{"kind": "matrix"}])[0]
    out: dict[str, Any] = {}
    for key in ("A1M1", "A2", "B1", "P1M1"):
        person = world.persons[key]
        out[key] = RecheckProposal.objects.get_or_create(
            person=person,
            fingerprint="matrix",
            defaults={
                "jurisdiction": person.jurisdiction,
                "run": run,
                "kind": "end",
                "reason": "矩阵检查",
                "status": "rejected",
            },
        )[0]
    return out


def ensure_testing(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """A testing round of each town over the town, and a pool-positive member recalled
    at each leaf, already negative (idempotent)."""
    from django.utils import timezone

    from fangkong.testing.models import Recall, RecallStatus, Round, Tube
    from fangkong.testing.rounds import round_create

    ensure_registry(world)
    rounds: dict[str, Any] = {}
    for town, name, persona in (
        ("T", "王店核酸一轮", "commander"),
        ("U", "洪合核酸一轮", "commander_u"),
    ):
        node = world.nodes[town]
        rounds[town] = Round.objects.filter(jurisdiction=node).first() or round_create(
            actor=world.users[persona],
            jurisdiction=node,
            name=name,
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate(),
            pool_size=10,
            scope=[node],
        )
        if name not in world.shared_markers.get(town, []):
            world.shared_markers.setdefault(town, []).append(name)
    recalls: dict[str, Any] = {}
    for key in ("A1M1", "A2", "B1", "P1M1"):
        person = world.persons[key]
        found = Recall.objects.filter(person=person).first()
        if found is None:
            round_ = rounds["U" if key == "P1M1" else "T"]
            tube = Tube.objects.create(
                barcode=f"MATRIX{key}",
                round=round_,
                jurisdiction=person.jurisdiction,
                pool_size=10,
                size=1,
                opened_at=timezone.now(),
            )
            found = Recall.objects.create(
                round=round_,
                person=person,
                jurisdiction=person.jurisdiction,
                pool=tube,
                status=RecallStatus.NEGATIVE,
            )
        recalls[key] = found
    return rounds, recalls


def ensure_editions(world: World) -> dict[str, Edition]:
    """A local edition of each town, copied from the 9th (idempotent)."""
    from datetime import date

    from fangkong.policy.services import edition_copy

    found = {e.scope_id: e for e in Edition.objects.filter(scope__isnull=False)}
    out: dict[str, Edition] = {}
    for key, name, persona in (
        ("T", "王店本地规则", "commander"),
        ("U", "洪合本地规则", "commander_u"),
    ):
        node = world.nodes[key]
        out[key] = found.get(node.pk) or edition_copy(
            actor=world.users[persona],
            source=Edition.objects.get(key="nat-9"),
            name=name,
            scope=node,
            effective_from=date(2026, 1, 1),
        )
        if name not in world.shared_markers.get(key, []):
            world.shared_markers.setdefault(key, []).append(name)
    return out


def _bulletins(world: World) -> dict[str, Any]:
    from django.utils import timezone

    from fangkong.reports.bulletin import bulletin_generate
    from fangkong.reports.models import Bulletin

    out = {}
    for key in ("T", "U"):
        node = world.nodes[key]
        found = Bulletin.objects.filter(node=node).first()
        out[key] = found or bulletin_generate(node=node, day=timezone.localdate())
    return out


def _api_clients(world: World) -> dict[str, ApiClient]:
    """A machine client of each town's first village (idempotent per world)."""
    from fangkong.org.clients import api_client_issue

    out = {}
    for key, persona in (("A", "commander"), ("P", "commander_u")):
        node = world.nodes[key]
        out[key] = (
            ApiClient.objects.filter(jurisdiction=node, name="matrix client").first()
            or api_client_issue(
                issuer=world.users[persona],
                name="matrix client",
                node=node,
                perms=[Perm.ORG_VIEW],
                days=1,
            ).client
        )
    return out


def _channels(world: World) -> dict[str, Channel]:
    """A group robot of each town; their names are no world node's."""
    return {
        key: Channel.objects.get_or_create(
            key=f"matrix-robot-{key}",
            defaults={
                "name": name,
                "kind": "dingtalk",
                "url": "http://127.0.0.1:9/x",
                "jurisdiction": world.nodes[key],
                "events": ["broadcast"],
            },
        )[0]
        for key, name in (("T", "指挥部群机器人"), ("U", "洪合群机器人"))
    }


def _cases(
    world: World, params: tuple[str, ...], build: Callable[[dict[str, str]], str]
) -> list[Case]:
    if not params:
        return [Case(build({}), None)]
    combos: list[tuple[dict[str, str], str | None, str | None]] = [({}, None, SAME)]
    for param in params:
        combos = [
            (
                {**values, param: obj.value},
                obj.node if obj.node is not None else node,
                obj.write if obj.write != SAME else write,
            )
            for values, node, write in combos
            for obj in param_cases(world, param)
        ]
    owners = {str(o.pk): world.order_owner[k] for k, o in world.orders.items()}
    photo_owners = {str(p.pk): world.order_owner[k] for k, p in world.photos.items()}
    return [
        Case(
            build(values),
            node,
            owners.get(values.get("order_id", "")) or photo_owners.get(values.get("photo_id", "")),
            write,
        )
        for values, node, write in combos
    ]


def _fingerprint() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in FINGERPRINT_MODELS)


def perms_of(persona: str) -> frozenset[Perm]:
    if persona in KEY_PERSONAS:
        return KEY_PERSONAS[persona][2]
    if persona in PERSONAS:
        return permissions_for(PERSONAS[persona][4])
    return frozenset()


def _signed_in(persona: str, api: bool) -> bool:
    """Whether the persona is anyone to this kind of route: a key only to the API."""
    return persona != "anonymous" and (api or persona not in KEY_PERSONAS)


def _allowed(world: World, persona: str, access: str, api: bool) -> bool:
    if access == "public":
        return True
    if not _signed_in(persona, api):
        return False
    if access == "signed_in" or access.startswith("assignee"):
        return True
    return Perm(access) in perms_of(persona)


def _at(world: World, persona: str, node: str) -> bool:
    """Whether the persona reaches an object at `node` (see Obj for the notation)."""
    if node.startswith("@"):
        return persona == node[1:]
    if node.startswith("~"):
        return world.related(persona, node[1:])
    if node == "-":
        return False
    return world.covers(persona, node)


def _visible(world: World, persona: str, access: str, case: Case, method: str) -> bool:
    node = case.node
    if method != "GET" and case.write != SAME:
        node = case.write
    if node is None:
        return True
    if access.startswith("assignee"):
        # The assignee, or (with a permission named) a holder of it over the object's node.
        if case.owner == persona:
            return True
        if access == "assignee":
            return False
        perm = Perm(access.partition(":")[2])
        return perm in perms_of(persona) and _at(world, persona, node)
    return _at(world, persona, node)


def _body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return str(response.content.decode("utf-8", "replace"))


def _check(
    world: World,
    persona: str,
    access: str,
    case: Case,
    method: str,
    response: Any,
    changed: bool,
    label: str,
) -> list[str]:
    status = response.status_code
    api = label == "API"
    allowed = _allowed(world, persona, access, api)
    visible = _signed_in(persona, api) and _visible(world, persona, access, case, method)
    if access == "public":
        return []
    where = f"{label} {method} {case.url} as {persona}"
    if not allowed or not visible:
        problems = []
        login_redirect = status == 302 and "/accounts/login/" in response.get("Location", "")
        if status not in DENIED and not (not _signed_in(persona, api) and login_redirect):
            problems.append(f"{where}: expected a refusal, got {status}")
        if changed:
            problems.append(f"{where}: a refused request changed data")
        return problems
    if method == "GET" and status not in (200, 405):
        return [f"{where}: allowed and in scope but got {status}"]
    if method != "GET" and status in (401, 403, 404):
        return [f"{where}: allowed and in scope but refused with {status}"]
    if status == 200:
        body = _body(response)
        leaked = [m for m in world.markers_outside(persona) if m in body]
        if leaked:
            return [f"{where}: shows data outside the persona's scope: {leaked}"]
    return []


def run_matrix(world: World, clients: dict[str, Client], urlconf: str | None = None) -> list[str]:
    # Registry rows and orders exist before any list page is read, so lists are checked
    # for leaks.
    ensure_registry(world)
    ensure_orders(world)
    ensure_reports(world)
    ensure_pushed(world)
    ensure_sweep(world)
    ensure_editions(world)
    ensure_control(world)
    ensure_sites(world)
    ensure_recheck(world)
    ensure_testing(world)
    ensure_zones(world)
    ensure_requests(world)
    ensure_stores(world)
    ensure_response(world)
    ensure_tracing(world)
    ensure_care(world)
    ensure_places(world)
    ensure_checkpoints(world)
    routes, problems = view_routes(urlconf)
    # While iterating on some routes: FANGKONG_MATRIX_ONLY=assist/,response/ checks only
    # the pages and operations whose path contains one of these (never set in CI).
    only = tuple(p for p in os.environ.get("FANGKONG_MATRIX_ONLY", "").split(",") if p)
    for route in routes:
        if only and not any(p in str(route.pattern) for p in only):
            continue
        methods = ["GET", *(m for m in route.writes if m != "GET")]
        for case in _cases(world, route.params, route.build):
            if route.top:
                case = replace(case, node="C", write="C")
            elif route.writes_at == "top":
                case = replace(case, write="C")
            elif route.writes_at == "own":
                case = replace(case, write=SAME)
            elif route.writes_at == "within":
                case = replace(case, write=case.node)
            for persona in PERSONA_NAMES:
                for method in methods:
                    before = _fingerprint()
                    response = getattr(clients[persona], method.lower())(case.url)
                    changed = _fingerprint() != before
                    problems += _check(
                        world, persona, route.access, case, method, response, changed, route.name
                    )
                    LoginThrottle.objects.all().delete()
    if urlconf is None:
        ops, api_problems = api_routes(clients["anonymous"])
        problems += api_problems
        writes_at = _writes_at(clients["anonymous"])
        for method, path, access, example in ops:
            if only and not any(p in path for p in only):
                continue
            params = tuple(re.findall(r"{(\w+)}", path))

            def build(values: dict[str, str], path: str = path) -> str:
                return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)

            for case in _cases(world, params, build):
                where = writes_at.get((method, path))
                if where == "within":
                    case = replace(case, write=case.node)
                elif where == "top":
                    case = replace(case, write="C")
                for persona in PERSONA_NAMES:
                    before = _fingerprint()
                    if method == "GET":
                        response = clients[persona].get(case.url)
                    else:
                        response = getattr(clients[persona], method.lower())(
                            case.url, data=example, content_type="application/json"
                        )
                    changed = _fingerprint() != before
                    problems += _check(
                        world, persona, access, case, method, response, changed, "API"
                    )
    return problems
