"""The village cadre records packages at the doors of 幸福小区 1栋 (封控区) on a 390 x 844
phone through the one offline queue: the connection drops, a package is recorded and
kept on the phone (nothing reaches the server), the connection returns and it is sent
— recorded once, even when the phone sends the same queue again (a lost answer, a
second tab). Skipped without chromium, unless FANGKONG_REQUIRE_BROWSER=1."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from tests.browser_support import poll, require_browser, small_targets
from tests.world import World, build_world, ensure_registry
from tests.zones_support import build_compound, reseed

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

require_browser()

from playwright.sync_api import expect  # noqa: E402 - only once chromium is known to exist

from tests.test_browser import ARTIFACTS, sign_in  # noqa: E402

pytestmark = pytest.mark.browser
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "locale": "zh-CN",
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture
def stocked(transactional_db, live_server) -> tuple[World, Any, list[Any], str]:
    from fangkong.assist.models_supplies import Item
    from fangkong.assist.supplies import receive, store_create
    from fangkong.policy.models import Edition
    from fangkong.zones.models import Place
    from fangkong.zones.places import places_derive
    from fangkong.zones.services import zones_delineate

    reseed()
    world = build_world()
    ensure_registry(world)
    compound = build_compound(world)
    commander, cadre = world.users["commander"], world.users["cadre_a"]
    places_derive(actor=commander, village=world.nodes["A"])
    zones_delineate(
        actor=commander,
        place=Place.objects.get(name="1栋"),
        reason="病例",
        edition=Edition.objects.get(key="nat-8"),
    )
    store = store_create(actor=cadre, jurisdiction=world.nodes["A"], name="四喜物资仓")
    lines = [(i, 5) for i in Item.objects.filter(per_package__gt=0)]
    receive(actor=cadre, store=store, kind="purchase", lines=lines, client_id=uuid.uuid4())
    return world, store, compound.households, live_server.url


def test_a_package_recorded_offline_is_sent_once(browser, stocked):
    from fangkong.assist.models_supplies import Package

    world, store, homes, base = stocked
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base, world.users["cadre_a"].username)
    page.goto(f"{base}/assist/stores/{store.pk}/package/")
    assert small_targets(page) == [], small_targets(page)
    expect(page.locator("#fk-pending")).to_have_text("0")

    # The connection drops at the door: the package is kept on the phone.
    context.set_offline(True)
    page.select_option("select[name=household]", str(homes[0].pk))
    page.locator("#fk-package-form button[type=submit]").tap()
    expect(page.locator("#fk-pending")).to_have_text("1")
    expect(page.locator("#fk-offline")).to_be_visible()
    assert Package.objects.count() == 0
    queued = page.evaluate(f"localStorage.getItem('fk-packages-{store.pk}:pending')")
    assert str(homes[0].pk) in queued and homes[0].address not in queued

    # The connection returns: the queue is sent and emptied, the package recorded.
    context.set_offline(False)
    page.click("#fk-send")
    poll(page, lambda: page.inner_text("#fk-pending") == "0")
    assert Package.objects.count() == 1
    package = Package.objects.get()
    assert package.household_id == homes[0].pk

    # The same queue sent again (a lost answer, a second tab): still one package.
    page.evaluate(f"localStorage.setItem('fk-packages-{store.pk}:pending', {queued!r})")
    page.reload()
    poll(page, lambda: page.inner_text("#fk-pending") == "0")
    assert Package.objects.count() == 1
    assert not page.is_visible("#fk-refused-box")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "assist-package-offline.png"), full_page=True)
    assert errors == [], errors
    context.close()
