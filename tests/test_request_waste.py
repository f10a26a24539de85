"""What a field worker's request costs the server, bounded: the queries of 我的任务, a
task, a result and a registry search (whatever the number of orders or residents), no
session written by a page view, templates compiled once (the cached loader)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.template import engines
from django.test.utils import CaptureQueriesContext

from tests.world import ensure_orders, ensure_registry

pytestmark = pytest.mark.django_db

# session, user (with the menu's staff name), memberships, unread count, and the page's own
BOUNDS = {"/tasks/": 6, "task": 9, "/people/?q=王": 5}


def _writes_session(queries: list[dict[str, str]]) -> bool:
    return any(
        "django_session" in q["sql"] and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
        for q in queries
    )


@pytest.fixture
def worker(world, login):
    ensure_registry(world)
    ensure_orders(world)
    client = login("gw_a1")
    client.get("/tasks/")  # the first request of a session may set things up
    return client


def test_my_tasks_a_task_and_search_stay_within_their_queries(world, worker):
    order = world.orders["A1M1"]
    for key, url in [
        ("/tasks/", "/tasks/"),
        ("task", f"/tasks/{order.pk}/"),
        ("/people/?q=王", "/people/?q=王"),
    ]:
        with CaptureQueriesContext(connection) as ctx:
            response = worker.get(url)
        assert response.status_code == 200, url
        sql = "\n".join(q["sql"][:120] for q in ctx.captured_queries)
        assert len(ctx.captured_queries) <= BOUNDS[key], f"{url}:\n{sql}"
        assert not _writes_session(ctx.captured_queries), url


def test_the_task_page_reads_the_staff_profile_once(world, worker):
    order = world.orders["A1M1"]
    with CaptureQueriesContext(connection) as ctx:
        worker.get(f"/tasks/{order.pk}/")
    profiles = [q for q in ctx.captured_queries if 'FROM "org_staffprofile"' in q["sql"]]
    assert len(profiles) <= 1, [q["sql"][:200] for q in profiles]


def test_a_result_does_not_write_the_session(world, worker):
    order = world.orders["A1M1"]
    page = worker.get(f"/tasks/{order.pk}/").content.decode()
    assert "version" in page
    from fangkong.workorders.kinds import get_kind

    form = {
        f"r_{f.key}": str(f.choices[0][0]) if f.choices else "ok"
        for f in get_kind(order.kind).fields
    }
    order.refresh_from_db()
    form |= {"client_id": str(uuid.uuid4()), "version": str(order.version)}
    with CaptureQueriesContext(connection) as ctx:
        response = worker.post(f"/tasks/{order.pk}/result/", form, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.content.decode()[:500]
    assert not _writes_session(ctx.captured_queries)


def test_templates_are_compiled_once():
    """Without DEBUG, Django wraps the loaders in the cached loader: a template is
    parsed on its first use in a process, not on every request."""
    loaders = engines["django"].engine.loaders  # type: ignore[attr-defined]
    # template_partials wraps the loaders Django chose; inside is the cached one.
    assert loaders[0][0] == "template_partials.loader.Loader"
    assert loaders[0][1][0][0] == "django.template.loaders.cached.Loader"


def test_the_menu_names_the_user_without_a_query_of_its_own(world, worker):
    with CaptureQueriesContext(connection) as ctx:
        response = worker.get("/tasks/")
    name = response.wsgi_request.user.staff.name
    assert name and name in response.content.decode()
    own = [q["sql"][:120] for q in ctx.captured_queries if 'FROM "org_staffprofile"' in q["sql"]]
    assert own == []
