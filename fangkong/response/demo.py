"""The demo town's emergency response: its copy of the shipped golden-24-hours plan and
one finished drill of it three days ago (most called on time, some late, one missing;
most steps done, one late), for the command pages to show."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.org.models import Jurisdiction, Level, Membership
from fangkong.org.scoping import subtree_q
from fangkong.response.models import Activation, Callout, LevelChange, Plan
from fangkong.response.services import activate, activation_close, arrive, plan_copy, step_done

DRILL_EVENT = "演练：两名核酸检测异常人员到过辖区一家农庄就餐，启动“黄金24小时”应急预案。"


def build_demo_response(path: str) -> dict[str, int]:
    commander = User.objects.filter(username="commander").first()
    shipped = Plan.objects.filter(code="golden-24h", jurisdiction__isnull=True).first()
    if commander is None or shipped is None:
        return {}
    town = (
        Jurisdiction.objects.filter(subtree_q("path", path), level=Level.TOWN)
        .filter(pk__in=Membership.objects.filter(user=commander).values("jurisdiction"))
        .first()
    )
    if town is None or Activation.objects.filter(jurisdiction=town).exists():
        return {}
    plan, _new = plan_copy(actor=commander, plan=shipped, node=town)
    started = timezone.now() - timedelta(days=3)
    drill = activate(
        actor=commander, plan=plan, node=town, event=DRILL_EVENT, drill=True, now=started
    )
    callouts = list(Callout.objects.filter(activation=drill).select_related("user").order_by("id"))
    for i, callout in enumerate(callouts):
        if i % 7 == 6:
            continue  # missing
        minutes = 12 + (i * 5) % 16 if i % 5 else 34 + i % 10  # every fifth late
        arrive(actor=callout.user, callout=callout, now=started + timedelta(minutes=minutes))
    steps = list(drill.steps.order_by("position"))
    for step in steps[:-2]:
        late = 20 if step.position == 3 else -5  # the first report came late
        step_done(
            actor=commander,
            activation=drill,
            position=step.position,
            now=started + timedelta(minutes=step.minutes + late),
        )
    activation_close(actor=commander, activation=drill, now=started + timedelta(hours=26))
    return {"plans": 1, "drills": 1, "called": len(callouts)}


def delete_response_under(path: str) -> None:
    """Everything response holds under `path` (the demo's --reset)."""
    LevelChange.objects.filter(subtree_q("jurisdiction__path", path)).delete()
    Activation.objects.filter(subtree_q("jurisdiction__path", path)).delete()
    Plan.objects.filter(subtree_q("jurisdiction__path", path)).delete()
