"""Schema-driven fuzzing of the whole API: `python -m tests.fuzz_api [--examples N]`.

Builds a throwaway database (the test database of the configured one: `test_<name>` on
PostgreSQL, in memory on SQLite) with the named test world and its objects, loads the
OpenAPI schema from the app in-process (WSGI, no server), and lets schemathesis
generate requests for every operation as each persona: the town commander, the grid
worker of A1 and the auditor (the audit API's only reader), signed in with a session
cookie and the CSRF header for writes; and two machine clients' API keys (village A's
with a cadre's permissions, the town's read-only: tests/world.KEY_PERSONAS), sent as a
Bearer header with a fresh Idempotency-Key on every request. Each operation is fuzzed with valid and with
invalid data, with generated ids and with the ids of the world's own objects (so a
result is also submitted to an order the persona holds).

The bar is 0 server errors: any 5xx fails the run, as does a documented response whose
body does not match the schema. Everything else (401/403/404/409/422 ...) is an answer.
The run is deterministic for a given `--seed`; the summary says how many cases ran.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any


@dataclass
class Tally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    failed: int = 0

    def fail(self, key: str, text: str) -> None:
        self.failed += 1
        # One report per operation, persona and kind of failure: hypothesis repeats them.
        if key not in self.seen:
            self.seen.add(key)
            self.failures.append(text)


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    # Error pages link static files: by their source names, as in the test suite, so the
    # run needs no `collectstatic` manifest (tests/conftest.py does the same).
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override_settings(
        STORAGES={"default": settings.STORAGES["default"], "staticfiles": plain},
        WHITENOISE_USE_FINDERS=True,
        # The keys' rate limit would answer most cases 429 and test nothing else.
        FANGKONG_API_KEY_RATE=10**9,
    ).enable()


def _world_and_ids() -> tuple[Any, dict[str, dict[str, int]]]:
    """The world, and per persona the ids of objects that persona may reach."""
    from django.contrib.auth.hashers import make_password

    from tests.world import (
        PASSWORD,
        build_world,
        ensure_orders,
        ensure_photos,
        ensure_pushed,
        ensure_reports,
        ensure_sweep,
    )

    world = build_world(password_hash=make_password(PASSWORD))
    ensure_orders(world)
    ensure_photos(world)
    reports = ensure_reports(world)
    ensure_pushed(world)
    ensure_sweep(world)
    # The registry, screening and list operations on objects each persona reaches.
    town = {"list_id": world.pushed_lists["T"].pk, "sweep_id": world.sweeps["T"].pk}
    ids: dict[str, dict[str, int]] = {
        "commander": {
            "staff_id": world.staff["A1"].pk,
            "team_id": world.teams["A"].pk,
            "order_id": world.orders["B1"].pk,
            "person_id": world.persons["B1"].pk,
            "household_id": world.households["B1"].pk,
            "report_id": reports["B1"].pk,
            **town,
        },
        "gw_a1": {
            "staff_id": world.staff["A1"].pk,
            "team_id": world.teams["A1"].pk,
            "order_id": world.orders["A1M1"].pk,
            "person_id": world.persons["A1M1"].pk,
            "household_id": world.households["A1M1"].pk,
            "report_id": reports["A1"].pk,
            **town,
        },
        "auditor": {"staff_id": world.staff["T"].pk, "team_id": world.teams["T"].pk},
        "key_a": {"staff_id": world.staff["A2"].pk, "team_id": world.teams["A"].pk},
        "key_t": {"staff_id": world.staff["B1"].pk, "team_id": world.teams["B"].pk},
    }
    from tests.matrix_places import ensure_places

    shops = ensure_places(world)
    ids["commander"]["venue_id"] = shops["A1"]["venue_id"].pk
    ids["gw_a1"]["venue_id"] = shops["A1"]["venue_id"].pk
    return world, ids


# Text a generator seldom draws and a database or a parser may choke on: a NUL (no
# PostgreSQL text column holds one), a long CJK string, markup, a format string.
HOSTILE = ("x\x00y", "长" * 5000, "<script>alert(1)</script>", "%s%n%(x)s", "-1e309")


def _text_leaves(value: Any, where: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, str):
        return [where]
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _text_leaves(v, (*where, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _text_leaves(v, (*where, i))]
    return []


def _replaced(value: Any, where: tuple[Any, ...], text: str) -> Any:
    if not where:
        return text
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[where[0]] = _replaced(value[where[0]], where[1:], text)
    return copy


def _hostile(schema: Any, case: Any, path_parameters: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """A valid case again with each text value in turn replaced by hostile text."""
    parts = {
        "path": {**case.path_parameters, **path_parameters},
        "query": dict(case.query or {}),
        "body": case.body if isinstance(case.body, dict) else None,
    }
    for location, values in parts.items():
        for where in _text_leaves(values) if values is not None else []:
            for text in HOSTILE:
                changed = {**parts, location: _replaced(values, where, text)}
                yield (
                    ".".join(map(str, (location, *where))),
                    schema.make_case(
                        operation=case.operation,
                        path_parameters=changed["path"],
                        query=changed["query"],
                        body=changed["body"] if changed["body"] is not None else case.body,
                        media_type=case.media_type,
                    ),
                )


def _unbounded_integers(node: Any, where: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "integer" and not {"minimum", "maximum"} <= node.keys():
            found.append(where)
        for key, value in node.items():
            found += _unbounded_integers(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _unbounded_integers(value, f"{where}/{i}")
    return found


def _credentials(user: Any) -> tuple[dict[str, str], dict[str, str]]:
    """A signed-in session and a CSRF token: (cookies, headers)."""
    from django.conf import settings
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    client = Client()
    client.force_login(user)
    csrf = _get_new_csrf_string()
    cookies = {
        settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value,
        settings.CSRF_COOKIE_NAME: csrf,
    }
    return cookies, {"X-CSRFToken": csrf}


# Replaced by a fresh key on every request (see _one): a fixed one would make every
# later write a replay or a 422 for its changed body, and test nothing else.
FRESH = "fresh"


def _key_credentials(world: Any, persona: str) -> tuple[dict[str, str], dict[str, str]]:
    """No cookie: a Bearer key, and an Idempotency-Key for writes."""
    from tests.api_keys import issue_persona_key

    key = issue_persona_key(world, persona).key
    return {}, {"Authorization": f"Bearer {key}", "Idempotency-Key": FRESH}


def run(*, examples: int, seed: int, tally: Tally, only: str = "") -> None:
    import schemathesis
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import got_request_exception, request_finished, request_started
    from django.db import close_old_connections, connection
    from django.test import Client
    from hypothesis import HealthCheck, Phase, settings
    from schemathesis.core.result import Ok

    # One connection for the whole run, as Django's test client keeps it: reconnecting
    # for every request would be most of the time spent on PostgreSQL.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A throwaway database: losing the last commits in a crash costs nothing.
            cursor.execute("SET synchronous_commit TO off")
    world, ids = _world_and_ids()
    for where in _unbounded_integers(json.loads(Client().get("/api/v1/openapi.json").content)):
        # Without both bounds nothing stops 2^64 reaching a query: the fuzzer would not
        # even try it, and a client would get a 500.
        tally.fail(f"unbounded:{where}", f"integer without both bounds in the schema: {where}")
    errors: list[str] = []

    def on_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
        errors.append(traceback.format_exc())

    got_request_exception.connect(on_exception, weak=False)
    app = WSGIHandler()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    from tests.world import KEY_PERSONAS

    personas = {
        name: _key_credentials(world, name)
        if name in KEY_PERSONAS
        else _credentials(world.users[name])
        for name in ids
    }
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            if result.ok().path.startswith(only):
                operations.append(result.ok())
        else:
            tally.fail(
                f"invalid:{result.err()}", f"invalid operation in the schema: {result.err()}"
            )
    for operation in operations:
        path_names = [p.name for p in operation.path_parameters]
        for persona, (cookies, headers) in personas.items():
            known = {name: ids[persona][name] for name in path_names if name in ids[persona]}
            variants: list[tuple[str, dict[str, Any] | None]] = [("generated ids", None)]
            if known and len(known) == len(path_names):
                variants.append(("own objects", known))
            # The coverage phase: boundary values, missing and unexpected parameters, wrong
            # types and methods, each once, deterministically.
            coverage = schema.iter_coverage_cases(
                operation,
                generation_modes=list(schemathesis.GenerationMode),
                generation_config=schema.config.generation_for(
                    operation=operation, phase="coverage"
                ),
            )
            base = None
            for case in coverage:
                generated = case.meta.generation.mode if case.meta else None
                if base is None and generated == schemathesis.GenerationMode.POSITIVE:
                    base = case
                for label, path_parameters in variants:
                    if path_parameters is not None:
                        case.path_parameters = {**(case.path_parameters or {}), **path_parameters}
                    where = f"{operation.label} as {persona} (coverage, {label})"
                    _one(
                        case,
                        where=where,
                        cookies=cookies,
                        headers=headers,
                        positive=generated == schemathesis.GenerationMode.POSITIVE,
                        tally=tally,
                        errors=errors,
                    )
            for label, path_parameters in variants if base is not None else []:
                for field_name, case in _hostile(schema, base, path_parameters or {}):
                    where = f"{operation.label} as {persona} (hostile {field_name}, {label})"
                    _one(
                        case,
                        where=where,
                        cookies=cookies,
                        headers=headers,
                        positive=False,
                        tally=tally,
                        errors=errors,
                    )
            for mode in (
                schemathesis.GenerationMode.POSITIVE,
                schemathesis.GenerationMode.NEGATIVE,
            ):
                for label, path_parameters in variants:
                    check = partial(
                        _one,
                        where=f"{operation.label} as {persona} ({mode.value}, {label})",
                        cookies=cookies,
                        headers=headers,
                        positive=mode == schemathesis.GenerationMode.POSITIVE,
                        tally=tally,
                        errors=errors,
                    )
                    _fuzz(
                        operation.as_strategy(mode, path_parameters=path_parameters),
                        settings(
                            max_examples=examples,
                            deadline=None,
                            database=None,
                            phases=[Phase.explicit, Phase.generate],
                            suppress_health_check=list(HealthCheck),
                            report_multiple_bugs=False,
                        ),
                        seed=seed,
                        check=check,
                    )
    got_request_exception.disconnect(on_exception)


def _fuzz(strategy: Any, config: Any, *, seed: int, check: Any) -> None:
    from hypothesis import given
    from hypothesis import seed as hypothesis_seed

    @hypothesis_seed(seed)
    @config
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        check(case)

    fuzz()


def _one(
    case: Any,
    *,
    where: str,
    cookies: dict[str, str],
    headers: dict[str, str],
    positive: bool,
    tally: Tally,
    errors: list[str],
) -> None:
    from schemathesis.specs.openapi.checks import response_schema_conformance

    errors.clear()
    if headers.get("Idempotency-Key") == FRESH:
        headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    response = case.call(headers=headers, cookies=cookies)
    tally.cases += 1
    tally.statuses[response.status_code] += 1
    if response.status_code >= 500:
        tally.fail(
            f"{where}:5xx",
            f"{response.status_code} on {where}\n    {case.as_curl_command(headers=headers)}\n"
            + "".join(errors[-1:]),
        )
        return
    if positive and response.status_code < 300:
        try:
            case.validate_response(response, checks=[response_schema_conformance])
        # schemathesis reports through a BaseExceptionGroup, which `except Exception`
        # does not catch: the run would stop at the first mismatch instead of counting it.
        except (Exception, BaseExceptionGroup) as e:
            tally.fail(f"{where}:schema", f"schema violation on {where}\n{e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples", type=int, default=15, help="cases per operation, persona and variant"
    )
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--only", default="", help="only the operations under this path")
    args = parser.parse_args(argv)
    _setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    # Every refused case would log a warning: thousands of lines that say nothing.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    setup_test_environment()
    original = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    tally = Tally()
    started = time.perf_counter()
    try:
        run(examples=args.examples, seed=args.seed, tally=tally, only=args.only)
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
        teardown_test_environment()
    took = time.perf_counter() - started
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(tally.statuses.items()))
    print(f"fuzz_api: {tally.cases} cases in {took:.0f} s ({statuses})")
    for failure in tally.failures:
        print("\n" + failure)
    # The closing line in the form CI reads: cases that passed every check, and failures.
    print(f"fuzz_api: {tally.cases - tally.failed} passed, {tally.failed} failed")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
