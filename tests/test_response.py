"""Emergency response: 圣堂's "two people with abnormal results ate at 太子农庄 — activate
the plan, everyone assembles within 30 minutes" as a scenario over the shipped golden-24-
hours plan (steps' work orders due at the right times, notices, an arrival on time and
one late, a step done by its owner and one by the commander, the late step on the
timeline); a drill that leaves live data unchanged; 塘栖's switch to level 2 and back
with a listener of the test's own; bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fangkong.audit.models import AuditEvent
from fangkong.notify.models import Delivery, Notice
from fangkong.org.models import StaffKind, Team, TeamKind, TeamMember
from fangkong.org.services import staff_create, team_create
from fangkong.response import hooks
from fangkong.response.kinds import STEP_KIND
from fangkong.response.models import (
    Activation,
    ActivationStep,
    Callout,
    LevelChange,
    Plan,
    ResponseLevel,
)
from fangkong.response.selectors import level_at, timeline
from fangkong.response.services import (
    activate,
    activation_close,
    arrive,
    level_switch,
    plan_copy,
    step_done,
    step_save,
)
from fangkong.workorders.models import Status, WorkOrder, WorkOrderEvent, WorkOrderTally
from fangkong.workorders.services import order_complete

pytestmark = pytest.mark.django_db

EVENT = "有两名核酸检测异常人员到过太子农庄吃饭，立即激活应急预案，30分钟内集合完毕。"


def golden() -> Plan:
    return Plan.objects.get(code="golden-24h", jurisdiction__isnull=True)


@pytest.fixture
def town(world):
    """王店镇's copy of the plan, and its 流调溯源组 with a leader and a member."""
    commander = world.users["commander"]
    node = world.nodes["T"]
    lead = staff_create(
        username="lt_lead", name="钱流调", kind=StaffKind.TOWN_CADRE, jurisdiction=node
    ).user
    member = staff_create(
        username="lt_member", name="孙流调", kind=StaffKind.TOWN_CADRE, jurisdiction=node
    ).user
    team_create(
        name="流调溯源组",
        kind=TeamKind.WORK_GROUP,
        jurisdiction=node,
        leader=lead,
        members=[(lead, ""), (member, "")],
    )
    plan, created = plan_copy(actor=commander, plan=golden(), node=node)
    assert created
    return {"plan": plan, "node": node, "lead": lead, "member": member, "commander": commander}


def test_the_shipped_plan_is_data():
    plan = golden()
    assert plan.assemble_minutes == 30
    assert plan.groups.count() == 12  # 一办十一组
    minutes = {s.title[:4]: s.minutes for s in plan.steps.all()}
    assert minutes["全体工作"] == 30
    assert minutes["2小时内"] == 120
    assert minutes["4小时内"] == 240
    assert minutes["24小时"] == 1440
    assert ResponseLevel.objects.get(code="level2").config["checkpoints"]["kinds"]


def test_activation_scenario(world, town):
    commander, lead, member = town["commander"], town["lead"], town["member"]
    t0 = timezone.now().replace(microsecond=0)
    act = activate(actor=commander, plan=town["plan"], node=town["node"], event=EVENT, now=t0)
    steps = list(act.steps.order_by("position"))
    assert len(steps) == 12
    # Every step's timer is a work order due at activation + its minutes.
    for s in steps:
        assert s.work_order is not None
        assert s.work_order.kind == STEP_KIND
        assert s.work_order.due_at == t0 + timedelta(minutes=s.minutes)
    tracing = [s for s in steps if s.owner == "流调溯源组"]
    assert tracing and all(s.work_order and s.work_order.assignee_id == lead.pk for s in tracing)
    # Groups formed; the group's people and the commander are called and notified.
    assert act.groups.count() == 12
    called = set(act.callouts.values_list("user_id", flat=True))
    assert called == {commander.pk, lead.pk, member.pk}
    notices = Notice.objects.filter(key=f"response:{act.pk}")
    assert set(notices.values_list("user_id", flat=True)) == called
    assert "太子农庄" in notices.first().body  # type: ignore[union-attr]
    assert "演练" not in notices.first().title  # type: ignore[union-attr]
    # One arrives in 20 minutes, one in 45; the commander never taps.
    arrive(
        actor=lead,
        callout=Callout.objects.get(activation=act, user=lead),
        now=t0 + timedelta(minutes=20),
    )
    _, again = arrive(
        actor=lead,
        callout=Callout.objects.get(activation=act, user=lead),
        now=t0 + timedelta(minutes=50),
    )
    assert not again
    arrive(
        actor=member,
        callout=Callout.objects.get(activation=act, user=member),
        now=t0 + timedelta(minutes=45),
    )
    with pytest.raises(PermissionDenied):
        arrive(actor=member, callout=Callout.objects.get(activation=act, user=lead))
    # The tracing group's leader completes the 2-hour step in the field app; the
    # commander records the 30-minute step done (twice: idempotent).
    two_hour = next(s for s in tracing if s.minutes == 120)
    assert two_hour.work_order is not None
    order_complete(
        order_id=two_hour.work_order.pk,
        actor=lead,
        result={"note": "核心信息已流调"},
        client_id=__import__("uuid").uuid4(),
        now=t0 + timedelta(minutes=100),
    )
    first, changed = step_done(
        actor=commander, activation=act, position=1, now=t0 + timedelta(minutes=25)
    )
    assert changed
    _, changed = step_done(
        actor=commander, activation=act, position=1, now=t0 + timedelta(minutes=90)
    )
    assert not changed
    first.refresh_from_db()
    assert first.done_at == t0 + timedelta(minutes=25)
    assert first.work_order is not None and first.work_order.status == Status.CANCELLED
    # Three hours in: the first report (2 h, reporting group) is late.
    line = timeline(act, now=t0 + timedelta(hours=3))
    by_pos = {s.position: s for s in line.steps}
    assert by_pos[1].state == "done"
    assert by_pos[two_hour.position].state == "done"
    report = next(s for s in line.steps if s.owner == "信息收集报送组" and s.minutes == 120)
    assert report.state == "late"
    assert next(s for s in line.steps if s.minutes == 240).state == "running"
    states = sorted(a.state for a in line.arrivals)
    assert states == ["late", "missing", "on_time"]
    assert line.late_steps >= 1
    # Audited: the activation, the arrivals, the step done.
    assert AuditEvent.objects.filter(object_repr__startswith=f"activation {act.pk}").exists()
    assert AuditEvent.objects.filter(object_repr=f"arrival for activation {act.pk}").count() == 2
    # Closing cancels the open timers.
    activation_close(actor=commander, activation=act)
    open_left = WorkOrder.objects.filter(kind=STEP_KIND, status__in=["new", "assigned"]).count()
    assert open_left == 0


def test_activating_twice_is_a_clear_error(world, town):
    commander = town["commander"]
    first = activate(actor=commander, plan=town["plan"], node=town["node"], event=EVENT)
    with pytest.raises(ValidationError) as e:
        activate(actor=commander, plan=town["plan"], node=town["node"], event=EVENT)
    # On the plan, naming the running activation (and the node).
    assert str(first.pk) in e.value.message_dict["plan"][0]
    assert town["node"].name in e.value.message_dict["plan"][0]
    assert Activation.objects.count() == 1
    # Not for another town's commander, nor without an event.
    with pytest.raises(PermissionDenied):
        activate(actor=world.users["commander_u"], plan=golden(), node=town["node"], event=EVENT)
    with pytest.raises(ValidationError):
        activate(actor=commander, plan=town["plan"], node=town["node"], event="  ", drill=True)


def test_a_drill_leaves_live_data_unchanged(world, town):
    commander = town["commander"]
    live = (WorkOrder, WorkOrderEvent, WorkOrderTally, Team, TeamMember, LevelChange, Delivery)
    before = {m.__name__: m.objects.count() for m in live}
    act = activate(actor=commander, plan=town["plan"], node=town["node"], event=EVENT, drill=True)
    arrive(actor=town["lead"], callout=Callout.objects.get(activation=act, user=town["lead"]))
    step_done(actor=commander, activation=act, position=1)
    activation_close(actor=commander, activation=act)
    after = {m.__name__: m.objects.count() for m in live}
    assert after == before
    assert ActivationStep.objects.filter(activation=act).count() == 12
    notices = Notice.objects.filter(key=f"response:{act.pk}")
    assert notices.count() == 3 and all("演练" in n.title for n in notices)


def test_level_switch_and_back(world):
    commander = world.users["commander"]
    node = world.nodes["T"]
    heard: list[hooks.LevelSwitch] = []
    opened: set[str] = set()

    def checkpoints(switch: hooks.LevelSwitch) -> dict[str, int]:
        heard.append(switch)
        opened.update(switch.added.get("checkpoints.kinds", []))
        opened.difference_update(switch.removed.get("checkpoints.kinds", []))
        return {"open": len(opened)}

    hooks.register_level_listener("test-checkpoints", checkpoints)
    try:
        assert level_at(node).level.code == "peace"  # type: ignore[union-attr]
        level2 = ResponseLevel.objects.get(code="level2")
        change, changed = level_switch(
            actor=commander, node=node, level=level2, reason="泰山村发现1例无症状感染者"
        )
        assert changed and change is not None
        assert opened == {"expressway", "road", "landing"}
        assert change.listeners["test-checkpoints"] == {"open": 3}
        assert level_at(world.nodes["A"]).level == level2  # a village under the town
        # The same switch again (a double click) changes nothing.
        _, changed = level_switch(actor=commander, node=node, level=level2, reason="重复")
        assert not changed and len(heard) == 1
        peace = ResponseLevel.objects.get(code="peace")
        level_switch(actor=commander, node=node, level=peace, reason="解除二级响应")
        assert opened == set()
        assert heard[-1].removed["checkpoints.kinds"] == ["expressway", "road", "landing"]
        assert level_at(node).level == peace
        history = list(LevelChange.objects.filter(jurisdiction=node).order_by("at", "id"))
        assert [(h.from_level.code, h.to_level.code) for h in history] == [  # type: ignore[union-attr]
            ("peace", "level2"),
            ("level2", "peace"),
        ]
        assert all(h.actor == commander and h.reason for h in history)
        # Another town's commander may not; a reason is required.
        with pytest.raises(PermissionDenied):
            level_switch(actor=world.users["commander_u"], node=node, level=level2, reason="x")
        with pytest.raises(ValidationError):
            level_switch(actor=commander, node=node, level=level2, reason=" ")
    finally:
        hooks.unregister_level_listener("test-checkpoints")


def test_a_failing_listener_rolls_the_switch_back(world):
    def broken(switch: hooks.LevelSwitch) -> None:
        raise RuntimeError("checkpoints unavailable")

    hooks.register_level_listener("test-broken", broken)
    try:
        with pytest.raises(RuntimeError):
            level_switch(
                actor=world.users["commander"],
                node=world.nodes["T"],
                level=ResponseLevel.objects.get(code="level1"),
                reason="测试",
            )
    finally:
        hooks.unregister_level_listener("test-broken")
    assert not LevelChange.objects.exists()


def test_plan_edits(world, town):
    commander, plan = town["commander"], town["plan"]
    step = step_save(
        actor=commander, plan=plan, title="  召开 首次 调度会 ", minutes=90, group_code="office"
    )
    assert step.title == "召开 首次 调度会" and step.position == 13
    with pytest.raises(ValidationError) as e:
        step_save(actor=commander, plan=plan, title="x", minutes=0, group_code="office")
    assert "minutes" in e.value.message_dict
    with pytest.raises(ValidationError):
        step_save(actor=commander, plan=plan, title="x", minutes=10, group_code="nope")
    with pytest.raises(ValidationError):
        step_save(actor=commander, plan=plan, title="x", minutes=10)
    # The shipped plan is changed only from the top of the tree.
    with pytest.raises(PermissionDenied):
        step_save(actor=commander, plan=golden(), title="x", minutes=10, role="town_staff")
    step_save(
        actor=world.users["county"], plan=golden(), title="县级复核", minutes=600, role="town_staff"
    )
    assert plan_copy(actor=commander, plan=golden(), node=town["node"]) == (plan, False)


def test_level_2_mans_the_town_s_posts_and_peace_time_stands_them_down(world):
    """The checkpoints listener: a switch at the town mans the posts the level names by
    kind and those that open at its rank, stands the rest down, and leaves other towns'
    posts alone; switching back closes them again, each change audited."""
    from fangkong.audit.models import AuditEvent
    from fangkong.checkpoints.models import Post
    from fangkong.checkpoints.services import PostData, post_save

    commander = world.users["commander"]

    def post(name: str, kind: str, node: str, levels: list[int], active: bool) -> None:
        post_save(
            actor=world.users["commander" if node != "U" else "commander_u"],
            data=PostData(
                name=name,
                kind=kind,
                jurisdiction=world.nodes[node],
                open_levels=levels,
                active=active,
            ),
        )

    post("高速出口", "expressway", "T", [], False)
    post("镇主路", "road", "A", [], False)
    post("一村村口", "gate", "A", [], False)
    post("二村村口", "gate", "B", [2], False)
    post("洪合高速口", "expressway", "U", [], True)

    def manned() -> set[str]:
        return set(Post.objects.filter(active=True).values_list("name", flat=True))

    change, _changed = level_switch(
        actor=commander,
        node=world.nodes["T"],
        level=ResponseLevel.objects.get(code="level2"),
        reason="启动二级响应",
    )
    assert manned() == {"高速出口", "镇主路", "二村村口", "洪合高速口"}
    assert change is not None
    assert sorted(change.listeners["checkpoints"]["opened"]) == sorted(
        ["高速出口", "镇主路", "二村村口"]
    )
    level_switch(
        actor=commander,
        node=world.nodes["T"],
        level=ResponseLevel.objects.get(code="peace"),
        reason="恢复常态",
    )
    assert manned() == {"洪合高速口"}
    assert AuditEvent.objects.filter(object_repr__contains="at response rank").count() == 6


def test_arrivals_kept_offline_are_recorded_at_the_tap_once(world, town):
    """A phone's queue of "I'm here" taps: recorded at the tap's time, once however
    often sent; a tap from the future or from before the call, or someone else's call,
    is refused with the reason and records nothing."""
    import uuid
    from datetime import timedelta

    from django.test import Client

    node, lead, member = town["node"], town["lead"], town["member"]
    act = activate(
        actor=town["commander"],
        plan=town["plan"],
        node=node,
        event=EVENT,
        now=timezone.now() - timedelta(minutes=40),
    )
    mine = act.callouts.get(user=lead)
    theirs = act.callouts.get(user=member)
    client = Client()
    client.force_login(lead)
    tapped = act.started_at + timedelta(minutes=12)
    good = {"client_id": str(uuid.uuid4()), "callout_id": mine.pk, "tapped_at": tapped.isoformat()}
    body = {
        "records": [
            good,
            {
                "client_id": str(uuid.uuid4()),
                "callout_id": theirs.pk,
                "tapped_at": tapped.isoformat(),
            },
            {
                "client_id": str(uuid.uuid4()),
                "callout_id": mine.pk,
                "tapped_at": (timezone.now() + timedelta(hours=1)).isoformat(),
            },
        ]
    }
    answers = [
        client.post(
            "/api/v1/response/arrivals/sync", data=body, content_type="application/json"
        ).json()
        for _ in range(2)
    ]
    assert [a["status"] for a in answers[0]["answers"]] == ["recorded", "refused", "already"]
    assert [a["status"] for a in answers[1]["answers"]] == ["already", "refused", "already"]
    assert answers[0]["recorded"] == 1 and answers[0]["answers"][0]["on_time"] is True
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.arrived_at == tapped and theirs.arrived_at is None
    # Before the call went out: refused, nothing recorded.
    other = Client()
    other.force_login(member)
    early = other.post(
        "/api/v1/response/arrivals/sync",
        data={
            "records": [
                {
                    "client_id": str(uuid.uuid4()),
                    "callout_id": theirs.pk,
                    "tapped_at": (act.started_at - timedelta(hours=2)).isoformat(),
                }
            ]
        },
        content_type="application/json",
    ).json()
    assert early["answers"][0]["status"] == "refused" and early["answers"][0]["error"]
    theirs.refresh_from_db()
    assert theirs.arrived_at is None
