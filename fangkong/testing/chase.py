"""One tap: the not-tested residents of a node become work orders for their grid
workers, who find out why (away, ill and needing door-to-door sampling, refused)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.core.masking import mask_name
from fangkong.org.models import Jurisdiction
from fangkong.org.roles import Perm, Role
from fangkong.org.scoping import has_perm
from fangkong.people.models import Person
from fangkong.testing.coverage import not_tested
from fangkong.testing.kinds import CHASE_KIND
from fangkong.testing.models import Round
from fangkong.testing.rounds import audit
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import WorkOrder
from fangkong.workorders.selectors import open_orders_about
from fangkong.workorders.services import Subject, orders_create

MAX_CHASE = 5000


@transaction.atomic
def chase_not_tested(
    *, round_: Round, node: Jurisdiction, actor: User, now: datetime | None = None
) -> list[WorkOrder]:
    """A chase order per not-tested resident under `node` (at most MAX_CHASE at once),
    dispatched to the grid workers; needs orders.dispatch at the node. A resident whose
    chase of this round is still open gets no second one: their open order comes back
    marked `merged` (a second tap sends nothing new)."""
    if not has_perm(actor, Perm.ORDERS_DISPATCH, node.path):
        raise PermissionDenied
    now = now or timezone.now()
    people = list(not_tested(round_, today=timezone.localdate(), node=node)[:MAX_CHASE])
    source = chase_source(round_)
    standing = open_orders_about(
        kind=CHASE_KIND,
        source=source,
        subject_type_id=ContentType.objects.get_for_model(Person).pk,
        subject_ids=[p.pk for p in people],
    )
    for order in standing:
        order.merged = True
    busy = {o.subject_id for o in standing}
    orders = orders_create(
        kind=CHASE_KIND,
        subjects=[Subject.of(p, label=mask_name(p.name)) for p in people if p.pk not in busy],
        actor=actor,
        strategy=Strategy.GRID,
        role=Role.GRID_WORKER,
        source=source,
        title=_("Not tested in %(round)s") % {"round": round_.name},
        now=now,
    )
    audit(actor, round_, node.path, "chase sent", orders=len(orders), node=node.code)
    return orders + standing


def chase_source(round_: Round) -> str:
    # The kind is repeatable (each round chases its own not-tested): the source tells
    # one round's chase from another's.
    return f"testing:round:{round_.pk}"
