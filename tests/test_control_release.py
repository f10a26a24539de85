"""Release: proposed when the days are served and every test is negative; approved by
the commander; an early release or one with a test missing is refused with the reasons;
of two releases (or a release and an extension) at once, one wins; the release notice
is a .docx with a QR code to a public page showing only a masked name, the dates and
"released"."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from docx import Document

from fangkong.control.models import (
    ControlOrder,
    ControlTest,
    OrderStatus,
    OrderType,
    RoomState,
    SampleResult,
)
from fangkong.control.release import order_extend, order_release, propose_releases
from fangkong.control.services import order_from_measure, result_record
from fangkong.workorders.services import Conflict, order_complete
from tests.test_control_orders import a_site, verified
from tests.world import World

pytestmark = pytest.mark.django_db

NOW = datetime(2022, 7, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DAY = NOW.date()


def isolated(world: World) -> ControlOrder:
    (room, *_rest) = a_site(world)
    pm = verified(world, "A1M1", "close_contact", "central", DAY)
    return order_from_measure(
        measure=pm, actor=world.users["commander"], room=room, now=NOW
    ).orders[0]


def all_negative(world: World, order: ControlOrder) -> None:
    for test in order.tests.all():
        result_record(test=test, result=SampleResult.NEGATIVE, actor=world.users["cadre_a"])


def test_an_early_release_is_refused_with_the_reasons_and_changes_nothing(world):
    order = isolated(world)
    with pytest.raises(ValidationError) as refused:
        order_release(
            order_id=order.pk,
            actor=world.users["commander"],
            expected_version=order.version,
            today=DAY + timedelta(days=3),
        )
    reasons = " ".join(refused.value.messages)
    assert "4" in reasons and "7" in reasons  # day 4 of 7
    assert reasons.count("第") >= 5  # each test without a result is named
    order.refresh_from_db()
    assert order.status == OrderStatus.ACTIVE and order.released_on is None
    # Days served but a test positive: refused too.
    all_negative(world, order)
    last = order.tests.get(day=7)
    result_record(test=last, result=SampleResult.POSITIVE, actor=world.users["cadre_a"])
    with pytest.raises(ValidationError, match="阳性"):
        order_release(
            order_id=order.pk,
            actor=world.users["commander"],
            expected_version=ControlOrder.objects.get(pk=order.pk).version,
            today=order.ends_on,
        )


def test_served_and_negative_is_proposed_then_released_into_home_monitoring(world):
    order = isolated(world)
    # The day-1 sample is taken and reported by the grid worker on the order.
    day1 = order.tests.get(day=1)
    assert day1.work_order is not None
    order_complete(
        order_id=day1.work_order.pk,
        actor=world.users["gw_a1"],
        result={"result": "negative", "tube": "T-0001"},
        client_id=uuid.uuid4(),
    )
    assert ControlTest.objects.get(pk=day1.pk).result == SampleResult.NEGATIVE
    all_negative(world, order)
    assert propose_releases(today=order.ends_on - timedelta(days=1)) == 0
    assert propose_releases(today=order.ends_on) == 1
    order.refresh_from_db()
    assert order.release_proposed_on == order.ends_on
    with pytest.raises(PermissionDenied):
        order_release(
            order_id=order.pk,
            actor=world.users["gw_a1"],
            expected_version=order.version,
            today=order.ends_on,
        )
    released = order_release(
        order_id=order.pk,
        actor=world.users["commander"],
        expected_version=order.version,
        today=order.ends_on,
    )
    assert released.status == OrderStatus.RELEASED and released.notice_code
    follower = ControlOrder.objects.get(previous=order)
    assert (follower.type, follower.status) == (OrderType.HOME_MONITORING, OrderStatus.ACTIVE)
    assert order.room is not None
    order.room.refresh_from_db()
    assert order.room.state == RoomState.CLEANING


def test_two_releases_or_a_release_and_an_extension_at_once_one_wins(world):
    order = isolated(world)
    all_negative(world, order)
    seen = ControlOrder.objects.get(pk=order.pk).version
    order_release(
        order_id=order.pk,
        actor=world.users["commander"],
        expected_version=seen,
        today=order.ends_on,
    )
    with pytest.raises(Conflict):
        order_release(
            order_id=order.pk,
            actor=world.users["county"],
            expected_version=seen,
            today=order.ends_on,
        )
    follower = ControlOrder.objects.get(previous=order)
    seen = follower.version
    order_extend(
        order_id=follower.pk,
        actor=world.users["cadre_a"],
        expected_version=seen,
        days=2,
        reason="复检",
    )
    with pytest.raises(Conflict):
        order_release(
            order_id=follower.pk,
            actor=world.users["commander"],
            expected_version=seen,
            today=follower.ends_on + timedelta(days=5),
        )
    follower.refresh_from_db()
    assert follower.status == OrderStatus.ACTIVE and follower.ends_on == DAY + timedelta(days=11)


def test_the_release_notice_is_a_docx_with_a_qr_code_to_a_masked_public_page(world, login):
    order = isolated(world)
    all_negative(world, order)
    order_release(
        order_id=order.pk,
        actor=world.users["commander"],
        expected_version=ControlOrder.objects.get(pk=order.pk).version,
        today=order.ends_on,
    )
    order.refresh_from_db()
    response = login("commander").get(f"/control/o/{order.pk}/notice.docx")
    assert response.status_code == 200
    doc = Document(io.BytesIO(response.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "解除" in text and "沈楼居" in text and "2022年7月16日" in text
    assert "11010519491231002X" not in text
    assert len(doc.inline_shapes) == 1  # the QR code
    assert login("gw_b1").get(f"/control/o/{order.pk}/notice.docx").status_code == 404
    page = login("anonymous").get(f"/control/notice/{order.notice_code}/")
    body = page.content.decode()
    assert page.status_code == 200 and "沈*居" in body and "沈楼居" not in body
    assert "已解除" in body and "红星" not in body
    assert login("anonymous").get("/control/notice/guess/").status_code == 404
