"""Every operation of the OpenAPI schema, walked from the schema itself (so operations
added later are covered by themselves), for machine clients' keys:

- every write operation is wrapped by the Idempotency-Key claim, and, with a key, never
  succeeds without the header, and replays (instead of running again) whenever it got
  as far as running;
- every operation refuses a key of the other town on this town's objects (404/403) and
  changes nothing, and its lists show nothing of this town.

Fast: one request (or two) per operation and object, not the full matrix."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from fangkong.api import api
from fangkong.org.roles import Perm, permissions_for
from tests.api_keys import KeyClient, issue_key
from tests.matrix import (
    DENIED,
    _cases,
    _fingerprint,
    _visible,
    api_routes,
)
from tests.matrix_control import ensure_control
from tests.matrix_policy import ensure_editions
from tests.world import (
    World,
    ensure_orders,
    ensure_pushed,
    ensure_registry,
    ensure_reports,
    ensure_sweep,
)

pytestmark = pytest.mark.django_db

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# What a town's commander may give a key (a key never manages keys).
TOWN_KEY_PERMS = sorted(
    p.value for p in permissions_for("town_commander") if p is not Perm.CLIENTS_MANAGE
)


def _registered() -> dict[tuple[str, str], Any]:
    """(method, schema path) -> the function ninja calls, for every operation."""
    out = {}
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for op in view.operations:
                full = "/api/v1" + prefix + path
                full = re.sub(r"{(?:\w+:)?(\w+)}", r"{\1}", full)
                for method in op.methods:
                    out[(method, full)] = op
    return out


@pytest.fixture
def everything(world: World, settings: Any) -> World:
    settings.FANGKONG_API_KEY_RATE = 10**6
    ensure_registry(world)
    ensure_orders(world)
    ensure_reports(world)
    ensure_pushed(world)
    ensure_sweep(world)
    ensure_editions(world)
    ensure_control(world)
    return world


def _builder(path: str) -> Any:
    def build(values: dict[str, str]) -> str:
        return re.sub(r"{(\w+)}", lambda found: values[found.group(1)], path)

    return build


def _call(client: Any, method: str, url: str, body: str, **headers: str) -> Any:
    if method == "GET":
        return client.get(url)
    return client.generic(method, url, body, "application/json", headers=headers)


def test_every_write_of_the_schema_honours_the_idempotency_key(everything: World):
    world = everything
    registered = _registered()
    ops, problems = api_routes(KeyClient("none"))
    assert not problems, problems
    writes = [(m, p, a, body) for m, p, a, body in ops if m in WRITES]
    assert len(writes) >= 30, len(writes)
    # Statically: every write in the schema is served through the claim.
    unwrapped = [
        f"{m} {p}"
        for m, p, access, _ in writes
        if access != "public" and not getattr(registered[(m, p)].view_func, "fk_idempotent", 0)
    ]
    assert not unwrapped, unwrapped
    key = issue_key(world, node="T", perms=TOWN_KEY_PERMS, name="schema walk").key
    client = KeyClient(key)
    replayed, refused_before = [], []
    for method, path, access, body in writes:
        if access == "public":
            continue
        params = tuple(re.findall(r"{(\w+)}", path))
        build = _builder(path)

        mine = [
            c
            for c in _cases(world, params, build)
            if _visible(world, "commander", access, c, method)
        ]
        for case in mine[:1]:
            where = f"{method} {case.url}"
            # Without the header, a key's write never runs.
            client.idempotency = False
            before = _fingerprint()
            bare = _call(client, method, case.url, body)
            assert not 200 <= bare.status_code < 300, f"{where}: ran without Idempotency-Key"
            assert _fingerprint() == before, f"{where}: changed data without Idempotency-Key"
            if bare.status_code == 422 and "Idempotency-Key" in bare.json().get("errors", {}):
                refused_before.append(where)
            # With one, twice: the second is the first's answer, replayed.
            client.idempotency = True
            token = f"walk-{method}-{case.url}"[:200]
            first = _call(client, method, case.url, body, **{"Idempotency-Key": token})
            assert first.status_code < 500, f"{where}: {first.status_code}"
            after_first = _fingerprint()
            second = _call(client, method, case.url, body, **{"Idempotency-Key": token})
            if second.get("Idempotent-Replayed") == "true":
                assert second.status_code == first.status_code, where
                assert second.content == first.content or "key" in path, where
                assert _fingerprint() == after_first, f"{where}: the replay ran again"
                replayed.append(where)
            else:
                # Never claimed: refused before the operation ran (validation, access).
                assert first.status_code in {400, 404, 405, 409, 413, 422, *DENIED}, where
                assert _fingerprint() == after_first, f"{where}: ran twice"
    # The rest were refused before running (the schema's minimal body is not valid for
    # every operation, or the operation is another's): all proven unwrapped-free above,
    # and none ran. The walk reached the claim of enough writes that neither check is
    # vacuous; each operation's own tests send it valid bodies with keys.
    assert len(refused_before) >= 10 and len(replayed) >= 10, (refused_before, replayed)
    assert set(refused_before) >= set(replayed), set(replayed) - set(refused_before)


def test_every_operation_refuses_a_key_of_the_other_town(everything: World):
    world = everything
    ops, problems = api_routes(KeyClient("none"))
    assert not problems, problems
    other = issue_key(
        world, node="U", by="commander_u", perms=TOWN_KEY_PERMS, name="the other town"
    )
    client = KeyClient(other.key)
    outside = world.markers_outside("commander_u")
    checked = 0
    for method, path, access, body in ops:
        if access == "public":
            continue
        params = tuple(re.findall(r"{(\w+)}", path))
        build = _builder(path)

        cases = _cases(world, params, build)
        theirs = [c for c in cases if not _visible(world, "commander_u", access, c, method)]
        for case in theirs[:2] if params else cases[:1]:
            where = f"{method} {case.url}"
            before = _fingerprint()
            response = _call(client, method, case.url, body)
            assert _fingerprint() == before or not params, f"{where}: changed data"
            if params:
                assert response.status_code in (403, 404, 405), (where, response.status_code)
            elif response.status_code == 200 and method == "GET":
                text = response.content.decode("utf-8", "replace")
                leaked = [m for m in outside if m in text]
                assert not leaked, (where, leaked)
            assert response.status_code < 500, (where, response.status_code)
            checked += 1
    assert checked >= len(ops), (checked, len(ops))


def test_the_schema_and_the_registered_operations_are_the_same():
    registered = _registered()
    schema = json.loads(KeyClient("none").get("/api/v1/openapi.json").content)
    in_schema = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    assert in_schema == set(registered), in_schema ^ set(registered)
