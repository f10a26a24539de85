"""One tap: the not-tested residents of a node become work orders for their grid
workers, who find out why (away, ill and needing door-to-door sampling, refused)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.core.masking import mask_name
from fangkong.org.models import Jurisdiction
from fangkong.org.roles import Perm, Role
from fangkong.org.scoping import has_perm
from fangkong.testing.coverage import not_tested
from fangkong.testing.kinds import CHASE_KIND
from fangkong.testing.models import Round
from fangkong.testing.rounds import audit
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import WorkOrder
from fangkong.workorders.services import Subject, orders_create

MAX_CHASE = 5000


@transaction.atomic
def chase_not_tested(
    *, round_: Round, node: Jurisdiction, actor: User, now: datetime | None = None
) -> list[WorkOrder]:
    """A chase order per not-tested resident under `node` (at most MAX_CHASE at once),
    dispatched to the grid workers; needs orders.dispatch at the node."""
    if not has_perm(actor, Perm.ORDERS_DISPATCH, node.path):
        raise PermissionDenied
    now = now or timezone.now()
    people = list(not_tested(round_, today=timezone.localdate(), node=node)[:MAX_CHASE])
    orders = orders_create(
        kind=CHASE_KIND,
        subjects=[Subject.of(p, label=mask_name(p.name)) for p in people],
        actor=actor,
        strategy=Strategy.GRID,
        role=Role.GRID_WORKER,
        source="testing",
        title=_("Not tested in %(round)s") % {"round": round_.name},
        now=now,
    )
    audit(actor, round_, node.path, "chase sent", orders=len(orders), node=node.code)
    return orders
