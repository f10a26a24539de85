"""Periodic testing of key occupations (重点人群定期核酸): who works in which occupation
for which employer, who is overdue for their test, and chasing them.

A worker's next test is due `every_days` after the day of their latest sample (of any
round, a recall included); one never sampled is due from the day they were assigned.
They are overdue from the day after. Nothing about it is stored: the list is computed
from the samples, so a sample recorded on the sampler's page takes a worker off it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.masking import mask_name
from fangkong.org.models import Jurisdiction, Level, Membership
from fangkong.org.roles import Perm, Role, permissions_for
from fangkong.org.scoping import has_perm, subtree_q
from fangkong.people.models import Person, PersonStatus
from fangkong.people.panels import Panel
from fangkong.testing.kinds_periodic import OVERDUE_KIND
from fangkong.testing.models import Sample
from fangkong.testing.models_periodic import KeyOccupation, OccupationAssignment
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import Priority, WorkOrder
from fangkong.workorders.services import Subject, orders_create

ALERT_EVENT = "testing_overdue"
MAX_CHASE = 5000
EMPLOYER_MAX = 100


def occupations() -> list[KeyOccupation]:
    return list(KeyOccupation.objects.filter(active=True))


@transaction.atomic
def assignment_set(
    *,
    person: Person,
    occupation: KeyOccupation,
    employer: str,
    actor: User,
    since: date | None = None,
) -> OccupationAssignment:
    """Name a resident's key occupation and employer (replacing any earlier one); needs
    testing.periodic at the resident's node."""
    if not has_perm(actor, Perm.TESTING_PERIODIC, person.jurisdiction.path):
        raise PermissionDenied
    employer = " ".join(employer.split())
    if not employer:
        raise ValidationError({"employer": _("Name the employer.")})
    if len(employer) > EMPLOYER_MAX:
        raise ValidationError({"employer": _("At most 100 characters.")})
    if not occupation.active:
        raise ValidationError({"occupation": _("This occupation is no longer tested.")})
    found, created = OccupationAssignment.objects.update_or_create(
        person=person,
        defaults={
            "jurisdiction_id": person.jurisdiction_id,
            "occupation": occupation,
            "employer": employer,
            "since": since or timezone.localdate(),
            "created_by": actor,
        },
    )
    audit_record(
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        actor=actor,
        obj=found,
        object_repr=f"occupation {found.pk}: {occupation.key}",
        jurisdiction_path=person.jurisdiction.path,
        detail={"occupation": occupation.key, "employer": employer},
    )
    return found


@transaction.atomic
def assignment_end(*, person: Person, actor: User) -> bool:
    """The resident no longer works in a key occupation."""
    if not has_perm(actor, Perm.TESTING_PERIODIC, person.jurisdiction.path):
        raise PermissionDenied
    gone, _n = OccupationAssignment.objects.filter(person=person).delete()
    if gone:
        audit_record(
            action=AuditAction.DELETE,
            actor=actor,
            object_repr=f"person {person.pk}: key occupation ended",
            jurisdiction_path=person.jurisdiction.path,
        )
    return bool(gone)


@dataclass(frozen=True)
class Overdue:
    assignment: OccupationAssignment
    last_at: datetime | None
    last_outcome: str
    due_on: date
    days: int  # days past the due day

    @property
    def person(self) -> Person:
        return self.assignment.person


def assignments(user: Any | None, node_path: str = "") -> QuerySet[OccupationAssignment]:
    """Key-occupation workers present in the user's testing view (all with no user),
    each with their latest sample's time and outcome (one query)."""
    qs = (
        OccupationAssignment.objects.visible_to(user, Perm.TESTING_VIEW)
        if user is not None
        else OccupationAssignment.objects.all()
    )
    latest = Sample.objects.filter(person_id=OuterRef("person_id")).order_by("-taken_at", "-pk")
    qs = qs.filter(person__status=PersonStatus.PRESENT, occupation__active=True)
    if node_path:
        qs = qs.filter(subtree_q("jurisdiction__path", node_path))
    return (
        qs.select_related("person", "person__household", "jurisdiction", "occupation")
        .annotate(
            last_at=Subquery(latest.values("taken_at")[:1]),
            last_outcome=Subquery(latest.values("tube__outcome")[:1]),
        )
        .order_by("employer", "jurisdiction__path", "person_id")
    )


def due_on(assignment: OccupationAssignment, last_at: datetime | None) -> date:
    """The day a worker's next periodic test is due: their interval after the last
    sample, or the day they started when never sampled."""
    if last_at is None:
        return assignment.since
    return timezone.localtime(last_at).date() + timedelta(days=assignment.occupation.every_days)


def overdue(user: Any | None, *, today: date, node_path: str = "") -> list[Overdue]:
    out = []
    for a in assignments(user, node_path):
        last_at = a.last_at  # type: ignore[attr-defined]
        due = due_on(a, last_at)
        if today > due:
            out.append(
                Overdue(a, last_at, a.last_outcome or "", due, (today - due).days)  # type: ignore[attr-defined]
            )
    return out


def by_employer(rows: list[Overdue]) -> list[tuple[str, int]]:
    return sorted(Counter(r.assignment.employer for r in rows).items(), key=lambda x: (-x[1], x[0]))


def by_grid(rows: list[Overdue]) -> list[tuple[Jurisdiction, int]]:
    nodes = {r.assignment.jurisdiction_id: r.assignment.jurisdiction for r in rows}
    counts = Counter(r.assignment.jurisdiction_id for r in rows)
    return sorted(((nodes[k], n) for k, n in counts.items()), key=lambda x: x[0].path)


def export_rows(rows: list[Overdue]) -> list[list[str]]:
    """Masked rows for the one spreadsheet writer."""
    return [
        [
            r.assignment.employer,
            str(r.assignment.occupation.name),
            r.assignment.jurisdiction.name,
            mask_name(r.person.name),
            r.person.id_number_masked,
            timezone.localtime(r.last_at).strftime("%Y-%m-%d %H:%M") if r.last_at else "",
            r.due_on.isoformat(),
            str(r.days),
        ]
        for r in rows
    ]


@transaction.atomic
def chase_overdue(
    *, node: Jurisdiction, actor: User, now: datetime | None = None
) -> list[WorkOrder]:
    """A work order per overdue worker under `node`, for their grid workers (one open
    order per worker however often it is sent); needs testing.periodic and
    orders.dispatch at the node."""
    if not has_perm(actor, Perm.TESTING_PERIODIC, node.path):
        raise PermissionDenied
    if not has_perm(actor, Perm.ORDERS_DISPATCH, node.path):
        raise PermissionDenied
    now = now or timezone.now()
    rows = overdue(actor, today=timezone.localdate(now), node_path=node.path)[:MAX_CHASE]
    orders = orders_create(
        kind=OVERDUE_KIND,
        subjects=[Subject.of(r.person, label=mask_name(r.person.name)) for r in rows],
        actor=actor,
        strategy=Strategy.GRID,
        role=Role.GRID_WORKER,
        priority=Priority.HIGH,
        source="testing",
        title=_("Overdue for the periodic test"),
        now=now,
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        object_repr=f"node {node.code}: {len(orders)} overdue chased",
        jurisdiction_path=node.path,
        detail={"orders": len(orders)},
    )
    return orders


def _town_staff(town: Jurisdiction) -> set[int]:
    """Users whose role at the town itself keeps key-occupation workers."""
    roles = [r for r in Role if Perm.TESTING_PERIODIC in permissions_for(r)]
    return set(
        Membership.objects.filter(
            jurisdiction=town, role__in=roles, user__is_active=True
        ).values_list("user_id", flat=True)
    )


def overdue_alerts(*, now: datetime | None = None) -> int:
    """Each town with overdue workers: a notice to its testing staff and a message to
    its group robots, naming the employers; once per town and day. Returns the towns."""
    from fangkong.notify.services import deliver, notice_send, routes

    now = now or timezone.now()
    today = timezone.localdate(now)
    sent = 0
    for town in Jurisdiction.objects.filter(level=Level.TOWN).order_by("path"):
        rows = overdue(None, today=today, node_path=town.path)
        if not rows:
            continue
        employers = by_employer(rows)
        title = _("%(n)d key-occupation workers overdue for their test (%(town)s)") % {
            "n": len(rows),
            "town": town.name,
        }
        body = "; ".join(f"{name}: {n}" for name, n in employers[:20])
        key = f"testing-overdue:{town.pk}:{today.isoformat()}"
        with transaction.atomic():
            notice_send(user_ids=_town_staff(town), title=title, body=body, key=key)
            deliver(
                channels=routes(ALERT_EVENT, town.path),
                title=title,
                body=body,
                event=ALERT_EVENT,
                key=key,
                now=now,
            )
        sent += 1
    return sent


def occupation_panel(user: Any, person: Person) -> Panel | None:
    """The key occupation on the person's registry page: what, where, how often, the
    last sample and the next due day, for those who follow testing at their node."""
    if not has_perm(user, Perm.TESTING_VIEW, person.jurisdiction.path):
        return None
    found = assignments(None).filter(person_id=person.pk).first()
    rows = []
    if found is not None:
        last_at = found.last_at  # type: ignore[attr-defined]
        due = due_on(found, last_at)
        late = (timezone.localdate() - due).days
        rows.append(
            (
                date_format(found.since, "DATE_FORMAT"),
                ngettext(
                    "%(occupation)s at %(employer)s, tested every day",
                    "%(occupation)s at %(employer)s, tested every %(days)d days",
                    found.occupation.every_days,
                )
                % {
                    "occupation": found.occupation.name,
                    "employer": found.employer,
                    "days": found.occupation.every_days,
                },
                (
                    _("last sampled %(last)s; ")
                    % {"last": date_format(timezone.localtime(last_at), "DATE_FORMAT")}
                    if last_at
                    else _("never sampled; ")
                )
                + (
                    ngettext("overdue by %(days)d day", "overdue by %(days)d days", late)
                    % {"days": late}
                    if late > 0
                    else _("next test due %(due)s") % {"due": date_format(due, "DATE_FORMAT")}
                ),
            )
        )
    return Panel(
        key="occupation",
        title=str(_("Key occupation (periodic testing)")),
        rows=rows,
        empty=str(_("Not registered in a key occupation.")),
    )
