"""Phones in the field (issue 13): page weight, tap targets and contrast, in chromium.

The bar: a cold page at most 100 KB and a warm one at most 15 KB (the time on 3G is
measured by bench/phone_3g.py, not here), every link, button and field at least 44x44
px at 390x844, and text at WCAG AA contrast (4.5:1; 3:1 for large text) — on 我的任务,
a task, the public returnee form, the inbox and the registry list, menu included.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser_support import (
    live_server_as_in_production,
    low_contrast,
    require_browser,
    served_as_in_production,
    small_targets,
)
from tests.world import PASSWORD, World, build_world, ensure_orders
from tests.zones_support import reseed

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # see tests/test_browser.py

require_browser()

pytestmark = pytest.mark.browser

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
COLD_KB, WARM_KB = 100, 15


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _a_world() -> tuple[World, dict[str, str]]:
    from fangkong.notify.services import notice_send
    from tests.world import ensure_registry

    reseed()
    world = build_world()
    ensure_registry(world)
    ensure_orders(world)
    notice_send(
        user_ids=[world.users["gw_a1"].pk],
        title="3 件工单逾期未办（第1级提醒）",
        body="请尽快处理。",
        url="/tasks/",
    )
    paths = {
        "tasks": "/tasks/",
        "task": f"/tasks/{world.orders['A1M1'].pk}/",
        "public form": f"/r/{world.nodes['A'].code}/?grid={world.nodes['A1'].code}",
        "inbox": "/inbox/",
        "registry": "/people/",
        "ask": f"/assist/r/{_ask_token(world)}/",
        "here": "/response/here/",
        "package": f"/assist/stores/{_village_store(world)}/package/",
    }
    paths["meals"] = paths["package"].replace("/package/", "/meals/")
    return world, paths


def _village_store(world: World) -> int:
    """The village's store, from which its grid workers hand out packages and meals."""
    from fangkong.assist.supplies import store_create

    return store_create(
        actor=world.users["cadre_a"], jurisdiction=world.nodes["A"], name="四喜物资仓"
    ).pk


def _ask_token(world: World) -> str:
    """A resident's personal link (the request page): home isolation from today."""
    from django.utils import timezone

    from fangkong.control.checks import self_check_token
    from fangkong.control.services import order_create

    order = order_create(
        person=world.persons["A1M1"],
        type="home_isolation",
        starts_on=timezone.localdate(),
        days=7,
        actor=world.users["commander"],
        reason="封控区居民",
    ).orders[0]
    return self_check_token(order)


def _load(page: Any, url: str) -> dict[str, Any]:
    """Load a page; the bytes of every response body as it came over the wire."""
    finished: list[Any] = []

    def keep(request: Any) -> None:
        finished.append(request)

    page.on("requestfinished", keep)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    page.remove_listener("requestfinished", keep)
    finished = [r for r in finished if not r.url.startswith("data:")]
    bodies = {r.url: r.sizes()["responseBodySize"] for r in finished}
    responses = [r.response() for r in finished]
    return {"bytes": sum(bodies.values()), "bodies": bodies, "responses": responses}


def test_phone_pages_are_light_cold_and_warm_as_served(browser, transactional_db, tmp_path):
    """Served as the demo and production serve them: hashed static files with gzip
    copies through WhiteNoise, pages gzipped; a year's cache for the static files."""
    with served_as_in_production(tmp_path / "static"), live_server_as_in_production() as base:
        _world, paths = _a_world()
        signing = browser.new_context(**PHONE)
        page = signing.new_page()
        sign_in(page, base, "gw_hongxing")
        session = signing.storage_state()
        signing.close()
        for name in ("tasks", "task", "public form", "ask", "here", "package", "meals"):
            signed_in = name not in ("public form", "ask")
            context = browser.new_context(**PHONE, storage_state=session if signed_in else None)
            page = context.new_page()
            cold = _load(page, base + paths[name])
            assert cold["bytes"] <= COLD_KB * 1024, (name, cold)
            for response in cold["responses"]:
                headers = response.all_headers()
                path = response.url.replace(base, "")
                if path.endswith((".css", ".js")):
                    assert headers.get("content-encoding") == "gzip", (path, headers)
                    assert "immutable" in headers["cache-control"], (path, headers)
                    age = int(headers["cache-control"].split("max-age=")[1].split(",")[0])
                    assert age >= 365 * 24 * 3600, (path, headers)
                    assert "bootstrap.min.css" not in path and "bundle" not in path
                elif response.request.resource_type == "document":
                    assert headers.get("content-encoding") == "gzip", (path, headers)
            assert page.locator("script[src]:not([defer]):not([async])").count() == 0
            warm = _load(page, base + paths[name])
            assert warm["bytes"] <= WARM_KB * 1024, (name, warm)
            context.close()


@pytest.fixture
def phone_site(browser, transactional_db, live_server) -> Iterator[tuple[Any, dict[str, str]]]:
    _world, paths = _a_world()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    yield page, {name: live_server.url + path for name, path in paths.items()}
    context.close()


def _visit(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def _open_menu(page: Any) -> None:
    page.click("button.navbar-toggler")
    page.wait_for_selector("#fk-menu.show .nav-link")


def test_every_control_on_the_phone_pages_is_a_44px_target(phone_site, live_server):
    page, urls = phone_site
    small: dict[str, list[str]] = {}
    for name in ("public form", "ask"):
        _visit(page, urls[name])
        small[name] = small_targets(page)
    sign_in(page, live_server.url, "gw_hongxing")
    for name in ("tasks", "task", "inbox", "registry", "here", "package", "meals"):
        _visit(page, urls[name])
        small[name] = small_targets(page)
    _open_menu(page)
    small["menu"] = small_targets(page)
    assert not any(small.values()), {k: v for k, v in small.items() if v}


def test_text_on_the_phone_pages_and_the_menu_meets_wcag_aa(phone_site, live_server, browser):
    page, urls = phone_site
    low: dict[str, list[str]] = {}
    for name in ("public form", "ask"):
        _visit(page, urls[name])
        low[name] = low_contrast(page)
    sign_in(page, live_server.url, "gw_hongxing")
    for name in ("tasks", "task", "inbox", "registry", "package", "meals"):
        _visit(page, urls[name])
        low[name] = low_contrast(page)
    _open_menu(page)
    low["menu"] = low_contrast(page)
    # The commander's menu has a dropdown (no Bootstrap script: fangkong/nav.js opens it),
    # on a phone and on a desk.
    for size in ({"width": 390, "height": 844}, {"width": 1440, "height": 900}):
        desk = browser.new_context(viewport=size, locale="zh-CN")
        commander = desk.new_page()
        sign_in(commander, live_server.url, "wd_commander")
        if size["width"] < 768:
            _open_menu(commander)
        commander.click("nav .dropdown-toggle")
        commander.wait_for_selector("nav .dropdown-menu.show .dropdown-item")
        low[f"commander menu {size['width']}"] = low_contrast(commander)
        commander.keyboard.press("Escape")
        assert commander.locator("nav .dropdown-menu.show").count() == 0
        desk.close()
    assert not any(low.values()), {k: v for k, v in low.items() if v}
