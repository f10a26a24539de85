"""The door-to-door route on a sampler's phone, in a real browser: the team's route grid
by grid and by address, a stop marked "sampled" once its sample came through the one
ingest path, every control big enough to tap and text at WCAG AA contrast; and the
vaccination mobilisation list on a phone, sent as visits with one tap.

Debian's chromium driven by Playwright against Django's live server, as in
test_testing_browser.py; skipped the same way when chromium is missing.
"""

from __future__ import annotations

import os
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.browser_support import low_contrast, require_browser, small_targets
from tests.world import PASSWORD, build_world

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

require_browser()

pytestmark = pytest.mark.browser
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}


@pytest.fixture
def site(transactional_db, live_server):
    return build_world(), live_server.url


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_the_team_route_on_a_phone(browser, site):
    from fangkong.people.models import Household, Person, PersonTag
    from fangkong.testing.models_periodic import DoorstepTag
    from fangkong.testing.rounds import round_create
    from fangkong.testing.sampling import BY_PERSON, Record, samples_sync

    world, base = site
    # The data migration's row; a transactional test run before this one flushed it.
    DoorstepTag.objects.get_or_create(tag="mobility")
    people = []
    for key, address, name in (
        ("A1", "红星路2号", "卧床甲"),
        ("A1", "红星路1号", "卧床乙"),
        ("A2", "东风路5号", "卧床丙"),
    ):
        household = Household.objects.create(jurisdiction=world.nodes[key], address=address)
        person = Person.objects.create(
            jurisdiction=world.nodes[key], household=household, name=name
        )
        PersonTag.objects.create(person=person, tag="mobility")
        people.append(person)
    today = timezone.localdate()
    round_ = round_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["T"],
        name="上门采样轮",
        starts_on=today,
        ends_on=today + timedelta(days=1),
        pool_size=1,
        scope=[world.nodes["A"]],
    )
    samples_sync(
        round_=round_,
        records=[
            Record(
                client_id=uuid.uuid4(),
                barcode="DOOR1",
                taken_at=timezone.now(),
                how=BY_PERSON,
                person=str(people[0].pk),
            )
        ],
        actor=world.users["sampler"],
    )
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, base, "sx_sampler")
    page.goto(f"{base}/testing/r/{round_.pk}/doorstep/")
    page.click("#fk-doorstep-teams a")
    page.wait_for_selector(".fk-doorstep-route")
    stops = page.locator(".fk-doorstep-route li").all_inner_texts()
    assert [s.split(" · ")[0] for s in stops] == ["1. 红星路1号", "2. 红星路2号", "1. 东风路5号"]
    assert "已采" in stops[1] and "已采" not in stops[0]
    assert all(p.name not in " ".join(stops) for p in people)
    assert small_targets(page) == []
    assert low_contrast(page) == []
    context.close()


def test_the_mobilisation_list_on_a_phone_sends_visits_once(browser, site):
    from fangkong.people.models import Household, Person
    from fangkong.vaccination.kinds import VISIT_KIND
    from fangkong.workorders.models import WorkOrder

    world, base = site
    for i in range(3):
        household = Household.objects.create(jurisdiction=world.nodes["A1"], address=f"老人路{i}号")
        Person.objects.create(
            jurisdiction=world.nodes["A1"],
            household=household,
            name=f"老人{i}",
            birth_date=date(1950, 1, 1 + i),
        )
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, base, "sx_cadre")
    page.goto(f"{base}/vaccination/mobilise/?node={world.nodes['A'].code}")
    assert small_targets(page) == []
    assert low_contrast(page) == []
    page.click("#fk-mobilise-send")
    page.wait_for_selector("#fk-sent-count")
    assert WorkOrder.objects.filter(kind=VISIT_KIND).count() == 3
    page.go_back()
    page.click("#fk-mobilise-send")
    page.wait_for_selector("#fk-sent-count")
    assert WorkOrder.objects.filter(kind=VISIT_KIND).count() == 3
    context.close()
