"""Door-to-door sampling (上门采样): the round's residents who cannot come to a point —
bedridden or disabled (the registry's tags named in `DoorstepTag`) and those under home
isolation or home health monitoring (control's active orders) — as a route list per
sampling team, village by village and grid by grid, ordered by address.

A team's route covers the residents under its home node. They are the green channel:
the work orders sent to the team are urgent. The sample itself goes through the one
ingest path (`sampling.samples_sync`, the sampler's page or the API with the person's
registry id), which takes a person off the route as "sampled".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.control.models import ControlOrder, OrderStatus, OrderType
from fangkong.core.masking import mask_name
from fangkong.org.models import Jurisdiction, Level, Team
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, has_perm, scope_paths, subtree_q
from fangkong.people.models import Person, PersonStatus, PersonTag
from fangkong.testing.kinds_periodic import DOORSTEP_KIND
from fangkong.testing.models import Exclusion, Round, RoundStatus, Sample
from fangkong.testing.models_periodic import DoorstepTag
from fangkong.testing.rounds import scope_paths as round_paths
from fangkong.workorders.dispatch import DispatchError, Strategy
from fangkong.workorders.models import Priority, WorkOrder
from fangkong.workorders.services import Subject, orders_create

# Control orders whose person stays at home and is sampled there.
AT_HOME = (OrderType.HOME_ISOLATION, OrderType.HOME_MONITORING)
MAX_ROUTE = 5000


def _paths_q(field: str, paths: list[str]) -> Q:
    q = Q(pk__in=[])
    for path in paths:
        q |= subtree_q(field, path)
    return q


def _mine(user: Any, perm: Perm, paths: list[str]) -> list[str]:
    """The parts of `paths` inside the user's reach with `perm` (the deeper of each pair)."""
    out = []
    for path in paths:
        for own in scope_paths(user, perm):
            if path.startswith(own):
                out.append(path)
            elif own.startswith(path):
                out.append(own)
    return out


def doorstep_people(
    round_: Round, *, user: Any, perm: Perm, node_path: str = ""
) -> QuerySet[Person]:
    """The round's residents sampled at home, within the user's reach (and `node_path`),
    each marked `sampled` when their routine sample of the round is in; excluded people
    (away, declared) are left out."""
    paths = _mine(user, perm, round_paths(round_))
    if node_path:
        paths = _mine_of(paths, node_path)
    tags = DoorstepTag.objects.values("tag")
    tagged = PersonTag.objects.filter(person_id=OuterRef("pk"), tag__in=tags)
    at_home = ControlOrder.objects.filter(
        person_id=OuterRef("pk"), status=OrderStatus.ACTIVE, type__in=AT_HOME
    )
    sampled = Sample.objects.filter(round=round_, person_id=OuterRef("pk"), recall=False)
    excluded = Exclusion.objects.filter(round=round_, person_id=OuterRef("pk"))
    return (
        Person.objects.filter(_paths_q("jurisdiction__path", paths), status=PersonStatus.PRESENT)
        .filter(Exists(tagged) | Exists(at_home))
        .exclude(Exists(excluded))
        .annotate(sampled=Exists(sampled), isolated=Exists(at_home))
        .select_related("jurisdiction", "household")
        .order_by("jurisdiction__path", "household__address", "pk")
    )


def _mine_of(paths: list[str], node_path: str) -> list[str]:
    out = []
    for path in paths:
        if node_path.startswith(path):
            out.append(node_path)
        elif path.startswith(node_path):
            out.append(path)
    return out


@dataclass
class Stop:
    person: Person
    name: str
    address: str
    sampled: bool
    isolated: bool


@dataclass
class Group:
    village: str
    grid: Jurisdiction
    stops: list[Stop]

    @property
    def left(self) -> int:
        return sum(not s.sampled for s in self.stops)


def route(people: QuerySet[Person]) -> list[Group]:
    """The route: grid by grid (named with their village), by address, names masked."""
    rows = list(people[:MAX_ROUTE])
    villages = _villages({p.jurisdiction.path for p in rows})
    groups: list[Group] = []
    for p in rows:
        if not groups or groups[-1].grid.pk != p.jurisdiction_id:
            village = next(
                (v for path, v in villages.items() if p.jurisdiction.path.startswith(path)), ""
            )
            groups.append(Group(village, p.jurisdiction, []))
        groups[-1].stops.append(
            Stop(
                p,
                mask_name(p.name),
                p.household.address if p.household else "",
                bool(p.sampled),  # type: ignore[attr-defined]
                bool(p.isolated),  # type: ignore[attr-defined]
            )
        )
    return groups


def _villages(paths: set[str]) -> dict[str, str]:
    """The villages above (or at) the grids of the route: path -> name."""
    above = sorted({a for path in paths for a in ancestor_paths(path)})
    return dict(
        Jurisdiction.objects.filter(path__in=above, level=Level.VILLAGE).values_list("path", "name")
    )


def teams_for(round_: Round, user: Any, perm: Perm) -> list[Team]:
    """Teams whose home node lies in the round's scope and the user's reach."""
    paths = _mine(user, perm, round_paths(round_))
    return list(
        Team.objects.visible_to(user, perm)
        .filter(_paths_q("jurisdiction__path", paths))
        .select_related("jurisdiction")
        .order_by("jurisdiction__path", "name")[:200]
    )


def team_round(user: Any, team: Team, perm: Perm, round_id: str = "") -> Round | None:
    """The round a team's route is for: the one named, else the latest open round the
    user reaches whose scope holds the team's node."""
    from fangkong.testing.selectors import rounds_visible

    rounds = rounds_visible(user, perm)
    if round_id:
        if not round_id.isdigit() or len(round_id) > 18:
            return None
        return rounds.filter(pk=int(round_id)).first()
    for found in rounds.filter(status=RoundStatus.OPEN).order_by("-starts_on", "-pk")[:20]:
        if any(
            team.jurisdiction.path.startswith(p) or p.startswith(team.jurisdiction.path)
            for p in round_paths(found)
        ):
            return found
    return None


@transaction.atomic
def route_send(
    *, round_: Round, team: Team, actor: User, now: datetime | None = None
) -> list[WorkOrder]:
    """The team's route as urgent work orders for its members (the green channel): one
    per resident not yet sampled; sending again opens none twice. Needs testing.manage
    and orders.dispatch at the team's node."""
    path = team.jurisdiction.path
    if not has_perm(actor, Perm.TESTING_MANAGE, path):
        raise PermissionDenied
    if round_.status != RoundStatus.OPEN:
        raise ValidationError(_("This round is finished: it takes no more samples."))
    people = [
        p
        for p in doorstep_people(round_, user=actor, perm=Perm.TESTING_MANAGE, node_path=path)[
            :MAX_ROUTE
        ]
        if not p.sampled  # type: ignore[attr-defined]
    ]
    try:
        orders = orders_create(
            kind=DOORSTEP_KIND,
            subjects=[Subject.of(p, label=mask_name(p.name)) for p in people],
            actor=actor,
            strategy=Strategy.TEAM,
            team=team,
            priority=Priority.URGENT,
            source="testing",
            title=_("Door-to-door sampling: %(round)s") % {"round": round_.name},
            now=now or timezone.now(),
        )
    except DispatchError as exc:
        raise ValidationError(str(exc)) from None
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=round_,
        object_repr=f"round {round_.pk}: door-to-door route of team {team.pk} sent",
        jurisdiction_path=path,
        detail={"orders": len(orders), "team": team.pk},
    )
    return orders
