"""Integers a client sends are bounded: a number no column can hold is bad input that
names its field (API: 422) or a page that does not exist (404), never a 500."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter

from fangkong.core.bounds import ID_MAX, OFFSET_MAX
from tests.matrix import view_routes
from tests.world import ensure_orders, ensure_registry

pytestmark = pytest.mark.django_db

HUGE = 2**63  # one past the largest 64-bit integer: SQLite and PostgreSQL both overflow
HUGER = 10**20


def _integers(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if node.get("type") == "integer":
            found.append((where, node))
        for key, value in node.items():
            found += _integers(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _integers(value, f"{where}/{i}")
    return found


def test_every_integer_in_the_openapi_schema_has_both_bounds(login):
    schema = json.loads(login("commander").get("/api/v1/openapi.json").content)
    integers = _integers(schema)
    params = [w for w, _ in integers if "/parameters/" in w]
    bodies = [w for w, _ in integers if "/components/" in w and w.rsplit("/", 3)[0]]
    assert len(params) >= 9 and len(bodies) >= 20, integers
    unbounded = [w for w, spec in integers if "minimum" not in spec or "maximum" not in spec]
    assert unbounded == []
    too_wide = [w for w, spec in integers if spec["maximum"] > ID_MAX or spec["minimum"] < 0]
    assert too_wide == []


def _names_field(response: Any, *loc: str) -> bool:
    body = response.json()
    # The one error shape: the field named in `errors`, the parser's place in `issues`.
    assert body["errors"] and isinstance(body["detail"], str), body
    return any(tuple(e["loc"][-len(loc) :]) == loc for e in body["issues"])


@pytest.mark.parametrize("value", [HUGE, HUGER, -1, OFFSET_MAX + 1])
@pytest.mark.parametrize(
    ("url", "persona"), [("/api/v1/org/staff", "commander"), ("/api/v1/audit/events", "auditor")]
)
def test_an_offset_out_of_range_is_a_422_naming_it(login, url, persona, value):
    response = login(persona).get(f"{url}?offset={value}")
    assert response.status_code == 422, response.content
    assert _names_field(response, "query", "offset")
    assert login(persona).get(f"{url}?offset={OFFSET_MAX}").status_code == 200


@pytest.mark.parametrize("value", [HUGE, HUGER, 0])
@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/org/staff/{}", "staff_id"),
        ("/api/v1/org/teams/{}", "team_id"),
        ("/api/v1/orders/{}", "order_id"),
        ("/api/v1/orders/{}/history", "order_id"),
    ],
)
def test_an_id_out_of_range_in_an_api_path_is_a_422_naming_it(login, path, param, value):
    response = login("commander").get(path.format(value))
    assert response.status_code == 422, response.content
    assert _names_field(response, "path", param)


def test_writes_with_ids_out_of_range_are_422_and_change_nothing(world, login):
    from fangkong.workorders.models import WorkOrder

    ensure_registry(world)
    ensure_orders(world)
    before = WorkOrder.objects.count()
    client = login("commander")
    person = world.persons["A1M1"].pk
    for subjects, extra, loc in [
        ([{"type": "person", "id": HUGE}], {}, ("subjects", 0, "id")),
        ([{"type": "person", "id": person}, {"type": "household", "id": HUGER}], {}, None),
        ([{"type": "person", "id": person}], {"team_id": HUGE}, ("team_id",)),
        ([{"type": "person", "id": person}], {"priority": HUGE}, ("priority",)),
        ([{"type": "person", "id": person}], {"priority": 0}, ("priority",)),
    ]:
        body = {"kind": "verify_person", "subjects": subjects, **extra}
        response = client.post("/api/v1/orders/bulk", body, content_type="application/json")
        assert response.status_code == 422, response.content
        if loc:
            assert _names_field(response, *map(str, loc)) or _names_field(response, *loc)
    gw = login("gw_a1")
    order = world.orders["A1M1"]
    for value in (HUGE, 0):
        response = gw.post(
            f"/api/v1/orders/{value}/result",
            {"client_id": "7d1c3a4e-0000-4000-8000-000000000001", "result": {}},
            content_type="application/json",
        )
        assert response.status_code == 422, response.content
        assert _names_field(response, "path", "order_id")
    response = gw.post(
        f"/api/v1/orders/{order.pk}/result",
        {
            "client_id": "7d1c3a4e-0000-4000-8000-000000000002",
            "version": HUGE,
            "lat": 1e300,
            "result": {"outcome": "found"},
        },
        content_type="application/json",
    )
    assert response.status_code == 422, response.content
    assert _names_field(response, "version") and _names_field(response, "lat")
    assert WorkOrder.objects.count() == before
    assert WorkOrder.objects.get(pk=order.pk).status == order.status


def _int_routes(patterns: list[Any], prefix: str = "") -> list[str]:
    found: list[str] = []
    for p in patterns:
        if isinstance(p, URLResolver):
            found += _int_routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern) and any(
            isinstance(c, IntConverter) for c in p.pattern.converters.values()
        ):
            found.append(prefix + str(p.pattern))
    return found


def test_page_urls_take_ids_through_the_bounded_converter():
    # Django's `int` converter passes 10^20 to the view, where the query overflows. (The
    # API's are bounded by its parameter types and answer 422: tested above.)
    pages = [p for p in _int_routes(get_resolver().url_patterns) if not p.startswith("api/")]
    assert pages == []


def test_a_huge_id_in_any_page_url_is_a_404(login):
    client = login("commander")
    routes, _problems = view_routes()
    checked = 0
    for route in routes:
        if "<id:" not in route.pattern:
            continue
        values = dict.fromkeys(route.params, "x")
        ids = re.findall(r"<id:(\w+)>", route.pattern)
        for huge in (str(HUGE), "9" * 20):
            url = route.build(values | dict.fromkeys(ids, huge))
            assert client.get(url).status_code == 404, url
            checked += 1
    assert checked >= 60
    assert client.get("/people/p/99999999999999999999/").status_code == 404


# Text no PostgreSQL column can hold ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "loc"),
    [
        ("/api/v1/org/jurisdictions/%00", ["path"]),
        ("/api/v1/org/jurisdictions?parent=330411102000%00", ["query", "parent"]),
        ("/api/v1/org/staff?q=%E7%8E%8B%00", ["query", "q"]),
        ("/api/v1/org/teams?node=%00", ["query", "node"]),
    ],
)
def test_a_nul_character_in_the_api_is_a_400_naming_the_field(login, url, loc):
    response = login("commander").get(url)
    assert response.status_code == 400, response.content
    (error,) = response.json()["issues"]
    assert error["loc"] == loc and "NUL" in error["msg"]
    assert "NUL" in response.json()["detail"] and len(response.json()["errors"]) == 1


def test_a_nul_character_in_a_json_body_is_refused_and_changes_nothing(world, login):
    ensure_orders(world)
    order = world.orders["A1M1"]
    response = login("gw_a1").post(
        f"/api/v1/orders/{order.pk}/result",
        {
            "client_id": "7d1c3a4e-0000-4000-8000-000000000003",
            "result": {"outcome": "found", "note": "门口\u0000"},
        },
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["issues"][0]["loc"] == ["body", "result", "note"]
    assert list(response.json()["errors"]) == ["result.note"]
    order.refresh_from_db()
    assert order.status == "assigned" and order.result == {}


def test_a_nul_character_in_a_page_search_or_form_is_a_400(world, login):
    client = login("commander")
    response = client.get("/people/?q=%00")
    assert response.status_code == 400
    assert "q：文字中不能含有 NUL 空字符" in response.content.decode()  # the page's language
    client.cookies["django_language"] = "en"
    response = client.get("/people/?q=%00")
    assert "q: text cannot contain the NUL character" in response.content.decode()
    assert client.get("/people/?q=abc").status_code == 200
    response = client.post("/accounts/logout/", {"next": "/\x00"})
    assert response.status_code == 400


# Numbers typed into a result --------------------------------------------------------


def test_a_count_in_a_result_is_bounded_by_its_field(world):
    import uuid

    from django.core.exceptions import ValidationError
    from django.utils import translation

    from fangkong.workorders.models import Status
    from fangkong.workorders.services import Subject, order_complete, orders_create

    ensure_registry(world)
    (order,) = orders_create(
        kind="visit_household",
        subjects=[Subject.of(world.households["A1M1"])],
        actor=None,
    )
    gw = world.users["gw_a1"]
    for value, message in [
        (-1, "between 0 and 999"),
        (1000, "between 0 and 999"),
        (HUGER, "between 0 and 999"),
        (float("inf"), "whole number"),
        (2.5, "whole number"),
        ("9" * 5000, "between 0 and 999"),
        ("9x" * 50, "whole number"),
        (True, "whole number"),
    ]:
        with translation.override("en"), pytest.raises(ValidationError) as e:
            order_complete(
                order_id=order.pk,
                actor=gw,
                client_id=uuid.uuid4(),
                result={"outcome": "visited", "persons_seen": value},
            )
        assert message in e.value.message_dict["persons_seen"][0], value
    order.refresh_from_db()
    assert order.status == Status.ASSIGNED
    done, _created = order_complete(
        order_id=order.pk,
        actor=gw,
        client_id=uuid.uuid4(),
        result={"outcome": "visited", "persons_seen": 3.0},
    )
    assert done.result["persons_seen"] == 3


def test_an_out_of_range_count_for_a_sweep_visit_is_a_400_not_a_500(world, login):
    from fangkong.screening.models import SweepVisit
    from fangkong.workorders.models import WorkOrder
    from tests.world import ensure_sweep

    ensure_sweep(world)
    order = WorkOrder.objects.filter(kind="sweep_visit", assignee=world.users["gw_a1"])[0]
    client = login("gw_a1")
    for value in (-1, 40_000):
        response = client.post(
            f"/api/v1/orders/{order.pk}/result",
            {
                "client_id": f"7d1c3a4e-0000-4000-8000-00000000001{value % 10}",
                "result": {"outcome": "visited", "persons_seen": value},
            },
            content_type="application/json",
        )
        assert response.status_code == 400, response.content
        assert "persons_seen" in response.json()["detail"]
    visit = SweepVisit.objects.get(order=order)
    assert visit.persons_seen == 0 and visit.outcome == ""
