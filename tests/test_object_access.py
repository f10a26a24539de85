"""Every object is checked where it is.

A route that takes an object's id (or code) loads it through that entity's accessor
(`<entity>_for_user(user, id, write=...)`), which answers 404 when the object is missing
or outside the user's area and 403 when the user sees it but may not change it at the
object's own node. A route-level `requires(perm)` only says the user holds `perm`
somewhere, which is why one town's commander could rename another town's rule edition.

The first tests read the code: views and API operations never look an object up
themselves, and every route with an object parameter reaches an accessor. The rest show
the checks at work on a county of two towns.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fangkong.audit.models import AuditEvent
from fangkong.policy.models import Edition, RiskArea
from tests.matrix import view_routes
from tests.matrix_policy import ensure_editions

PACKAGE = Path(__file__).resolve().parent.parent / "fangkong"
# URL parameters that name no object: a file format, a register's key, a document type.
NOT_OBJECTS = frozenset({"fmt", "doc", "register_key"})
# Lookups that only an accessor may make in a view or an API operation.
RAW_LOOKUPS = frozenset({"get_object_or_404", "get_list_or_404", "get_visible_or_404"})
ID_KEYS = frozenset({"pk", "id", "pk__in", "id__in"})


def _unscoped_manager_chain(node: ast.AST) -> bool:
    """Whether a call's receiver chain starts at a model manager (`X.objects...`) and is
    not narrowed by `visible_to()` on the way (a scoped bulk lookup is a list's business)."""
    scoped = False
    while isinstance(node, ast.Call | ast.Attribute):
        if isinstance(node, ast.Attribute):
            if node.attr == "visible_to":
                scoped = True
            if node.attr == "objects":
                return not scoped
            node = node.value
        else:
            node = node.func
    return False


def raw_lookups(source: str, filename: str) -> list[str]:
    """Where `source` (a views or api module) looks an object up without an accessor."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        where = f"{filename}:{node.lineno}"
        if name in RAW_LOOKUPS:
            found.append(f"{where}: {name}() in a view; use the entity's *_for_user accessor")
        elif isinstance(func, ast.Attribute) and _unscoped_manager_chain(func.value):
            if name == "get":
                found.append(f"{where}: .objects…get() in a view; use an accessor")
            elif name == "filter" and any(k.arg in ID_KEYS for k in node.keywords):
                found.append(f"{where}: .objects…filter(pk=…) in a view; use an accessor")
    return found


def _view_modules() -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name.startswith("views") or path.name == "api.py":
            yield path


def test_views_and_api_never_look_objects_up_themselves() -> None:
    problems = []
    for path in _view_modules():
        problems += raw_lookups(path.read_text(), str(path.relative_to(PACKAGE.parent)))
    assert not problems, "\n".join(problems)


def test_the_lookup_check_catches_a_raw_lookup() -> None:
    bad = textwrap.dedent(
        """
        def edition_detail(request, edition_id):
            edition = get_object_or_404(Edition.objects.select_related("scope"), pk=edition_id)
            other = Edition.objects.select_related("scope").get(pk=edition_id)
            same = Upload.objects.filter(pk=edition_id, owner=request.user).first()
            fine = Edition.objects.filter(scope=None).first()
            scoped = Person.objects.visible_to(user, perm).filter(pk__in=ids)
        """
    )
    found = raw_lookups(bad, "bad.py")
    assert [f.split(":")[1] for f in found] == ["3", "4", "5"], found


def _calls(func: Callable[..., Any]) -> set[str]:
    """Names of the functions `func` calls, following helpers of its own module."""
    module = inspect.getmodule(func)
    seen: set[str] = set()
    todo = [func]
    names: set[str] = set()
    while todo:
        current = inspect.unwrap(todo.pop())
        if current.__qualname__ in seen:
            continue
        seen.add(current.__qualname__)
        tree = ast.parse(textwrap.dedent(inspect.getsource(current)))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
                names.add(name)
                helper = getattr(module, name, None)
                if callable(helper) and inspect.getmodule(helper) is module:
                    todo.append(helper)
    return names


def _reaches_accessor(func: Callable[..., Any]) -> bool:
    return any(name.endswith("_for_user") for name in _calls(func))


def test_every_route_with_an_object_loads_it_through_an_accessor() -> None:
    from django.urls import get_resolver

    from tests.matrix import _walk

    callbacks = {name: cb for name, _pattern, cb in _walk(get_resolver().url_patterns)}
    routes, _problems = view_routes()
    missing = [
        f"{route.name} ({route.pattern})"
        for route in routes
        # A public route (the QR form of a village) serves what is public by design.
        if route.access != "public"
        and set(route.params) - NOT_OBJECTS
        and not _reaches_accessor(callbacks[route.name])
    ]
    assert not missing, "routes that take an object but use no accessor:\n" + "\n".join(missing)


def test_every_api_operation_with_an_object_loads_it_through_an_accessor() -> None:
    from fangkong.api import api

    missing = []
    checked = 0
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            if "{" not in path:
                continue
            for operation in view.operations:
                checked += 1
                guards = [getattr(a, "guard", None) for a in operation.auth_callbacks]
                funcs = [operation.view_func, *(g for g in guards if g is not None)]
                if not any(_reaches_accessor(f) for f in funcs):
                    missing.append(f"{operation.methods} {prefix}{path}")
    assert checked >= 5
    assert not missing, "API operations that take an object but use no accessor: " + str(missing)


def test_the_route_check_catches_a_view_without_an_accessor() -> None:
    def leaky(request: Any, edition_id: int) -> Any:
        return Edition.objects.filter(pk=edition_id).first()

    def careful(request: Any, edition_id: int) -> Any:
        from fangkong.policy.selectors import edition_for_user

        return edition_for_user(request.user, edition_id)

    assert not _reaches_accessor(leaky)
    assert _reaches_accessor(careful)


# The checks at work ---------------------------------------------------------------------


def _edition_post(edition: Edition, **changes: str) -> dict[str, str]:
    data = {
        "name": edition.name,
        "effective_from": edition.effective_from.isoformat(),
        "effective_to": "",
        "contact_lookback_days": str(edition.contact_lookback_days),
        "arrival_window_days": str(edition.arrival_window_days),
        "day_one": edition.day_one,
        "source": edition.source,
    }
    measures = list(edition.measures.order_by("id"))
    data |= {
        "form-TOTAL_FORMS": str(len(measures)),
        "form-INITIAL_FORMS": str(len(measures)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
    }
    from fangkong.policy.forms import MeasureFormSet

    formset = MeasureFormSet(queryset=edition.measures.all())
    for i, form in enumerate(formset.forms):
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            data[f"form-{i}-{name}"] = "" if value is None else str(value)
    return data | changes


@pytest.mark.django_db
def test_one_town_s_commander_cannot_read_or_rename_another_town_s_edition(world, login):
    editions = ensure_editions(world)
    mine, theirs = editions["U"], editions["T"]
    other = login("commander_u")
    # 404, as for an edition that does not exist: the other town's rules are not theirs.
    assert other.get(f"/policy/editions/{theirs.pk}/").status_code == 404
    response = other.post(f"/policy/editions/{theirs.pk}/", _edition_post(theirs, name="改掉"))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "王店本地规则"
    assert "王店本地规则" not in other.get("/policy/editions/").content.decode()
    # Their own edition they change.
    response = other.post(f"/policy/editions/{mine.pk}/", _edition_post(mine, name="洪合规则二版"))
    assert response.status_code == 302, response.content.decode()[:2000]
    mine.refresh_from_db()
    assert mine.name == "洪合规则二版"
    # The county above both reads and changes either.
    county = login("county")
    assert county.get(f"/policy/editions/{theirs.pk}/").status_code == 200
    response = county.post(f"/policy/editions/{theirs.pk}/", _edition_post(theirs, name="王店规则"))
    assert response.status_code == 302


@pytest.mark.django_db
def test_national_editions_are_read_by_all_and_changed_by_nobody(world, login):
    national = Edition.objects.get(key="nat-9")
    for persona in ("commander", "county"):
        client = login(persona)
        assert client.get(f"/policy/editions/{national.pk}/").status_code == 200
        response = client.post(
            f"/policy/editions/{national.pk}/", _edition_post(national, name="x")
        )
        assert response.status_code == 403
    national.refresh_from_db()
    assert national.name != "x"


@pytest.mark.django_db
def test_the_shared_risk_area_catalogue_is_changed_from_the_top_only(world, login):
    area = RiskArea.objects.create(
        code="310115005", name="上海市浦东新区陆家嘴街道", level="high", effective_from="2022-07-01"
    )
    lift = {"action": "lift", "on": "2022-07-10", "note": "解封"}
    commander = login("commander")
    assert commander.get(f"/policy/areas/{area.pk}/").status_code == 200
    assert commander.post(f"/policy/areas/{area.pk}/", lift).status_code == 403
    assert commander.get("/policy/areas/new/").status_code == 403
    assert commander.get("/policy/areas/import/").status_code == 403
    area.refresh_from_db()
    assert area.effective_to is None
    assert login("county").post(f"/policy/areas/{area.pk}/", lift).status_code == 302
    area.refresh_from_db()
    assert str(area.effective_to) == "2022-07-10"


def _deadline_post(client: Any, **hours: str) -> Any:
    page = client.get("/screening/deadlines/")
    formset = page.context["formset"]
    data = {f"form-{k}": v for k, v in formset.management_form.initial.items()}
    for i, form in enumerate(formset.forms):
        category = form.initial["category"]
        data[f"form-{i}-category"] = category
        data[f"form-{i}-hours"] = hours.get(category, str(form.initial["hours"]))
    return client.post("/screening/deadlines/", data)


@pytest.mark.django_db
def test_a_town_s_verification_deadlines_stay_in_the_town(world, login):
    from fangkong.screening.services import verify_hours_at

    t, u = world.nodes["A1"].path, world.nodes["P1"].path
    assert verify_hours_at(t)["arrival_high"] == verify_hours_at(u)["arrival_high"] == Decimal(2)
    # The commander who set 99 hours "for everyone" now sets it for their own town.
    assert _deadline_post(login("commander"), arrival_high="99").status_code == 302
    assert verify_hours_at(t)["arrival_high"] == Decimal(99)
    assert verify_hours_at(u)["arrival_high"] == Decimal(2)
    assert verify_hours_at(None)["arrival_high"] == Decimal(2)
    event = AuditEvent.objects.get(object_repr="verification deadlines")
    assert event.detail["changed"] == [["arrival_high", "2.0", "99"]]
    # The county changes the installation's table: the other town follows, the first
    # keeps its own value.
    assert _deadline_post(login("county"), arrival_high="1.5").status_code == 302
    assert verify_hours_at(u)["arrival_high"] == Decimal("1.5")
    assert verify_hours_at(t)["arrival_high"] == Decimal(99)
    # Setting the town's value back to what it inherits removes the override.
    assert _deadline_post(login("commander"), arrival_high="1.5").status_code == 302
    from fangkong.screening.models import VerifyDeadline

    assert not VerifyDeadline.objects.filter(scope=world.nodes["T"]).exists()


@pytest.mark.django_db
def test_escalation_delays_and_templates_serve_every_town(world, login):
    from fangkong.notify.models import MessageTemplate
    from fangkong.workorders.models import EscalationRule

    before = list(EscalationRule.objects.values_list("hours_overdue", flat=True))
    rules = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "0",
        "form-0-hours_overdue": "9",
        "form-0-notify_role": "grid_leader",
    }
    commander, county = login("commander"), login("county")
    assert commander.get("/orders/escalation/").status_code == 200
    assert commander.post("/orders/escalation/", rules).status_code == 403
    assert list(EscalationRule.objects.values_list("hours_overdue", flat=True)) == before
    assert county.post("/orders/escalation/", rules).status_code == 302
    template = MessageTemplate.objects.get(key="letter_to_villagers")
    edit = {"key": template.key, "name": "改", "title": "t", "body": "b"}
    assert commander.get(f"/notify/templates/{template.pk}/").status_code == 200
    assert commander.post(f"/notify/templates/{template.pk}/", edit).status_code == 403
    template.refresh_from_db()
    assert template.name != "改"


@pytest.mark.django_db
def test_a_row_seen_but_not_editable_answers_403_and_another_town_s_404(world, login):
    from django.test import Client

    from fangkong.org.models import StaffKind
    from fangkong.org.roles import Role
    from fangkong.org.services import membership_grant, staff_create
    from tests.world import ensure_pushed

    ensure_pushed(world)
    row_b = world.pushed_rows["B1"]
    close = {"action": "result", "outcome": "not_in_town", "note": "查无此人"}
    # A supervisor of the town who is also a grid worker of 红星网格: they read the whole
    # town's lists, and may change rows of their own grid only. The route lets them in
    # (they hold people.edit somewhere); the row's accessor refuses.
    supervisor = staff_create(
        username="wd_supervisor", name="督查员", kind=StaffKind.OTHER, jurisdiction=world.nodes["T"]
    ).user
    membership_grant(user=supervisor, jurisdiction=world.nodes["T"], role=Role.SUPERVISOR)
    membership_grant(user=supervisor, jurisdiction=world.nodes["A1"], role=Role.GRID_WORKER)
    client = Client()
    client.force_login(supervisor)
    assert client.get(f"/screening/rows/{row_b.pk}/").status_code == 200
    assert client.post(f"/screening/rows/{row_b.pk}/act/", close).status_code == 403
    # Another village's cadre and another town's commander do not see it at all.
    assert login("cadre_a").post(f"/screening/rows/{row_b.pk}/act/", close).status_code == 404
    assert login("commander_u").post(f"/screening/rows/{row_b.pk}/act/", close).status_code == 404
    row_b.refresh_from_db()
    assert row_b.outcome == ""
    # Its own town's commander closes it.
    assert login("commander").post(f"/screening/rows/{row_b.pk}/act/", close).status_code == 302
    row_b.refresh_from_db()
    assert row_b.outcome == "not_in_town"
