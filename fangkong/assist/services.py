"""Writes of households' requests: one asked (by the personal link, by phone to the
village, by the grid worker at the door) becomes a work order to the village's service
team (or the grid worker where the village has none) due by its kind's response target;
the green channel tells the town's medical group at once; a hand-over to 120 or a
hospital is recorded; the work order's completion marks it served. Asking again with
the same client id (a phone retrying) returns the first request."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.assist.kinds import REQUEST_KIND
from fangkong.assist.models import (
    Channel,
    GreenTag,
    Handover,
    HelpRequest,
    RequestKind,
    RequestStatus,
)
from fangkong.assist.models_care import CareEntry
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.control.checks import medical_group
from fangkong.control.selectors import under_home_control
from fangkong.core.masking import mask_name
from fangkong.notify.services import notice_send
from fangkong.org.models import Level, Team, TeamKind
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, has_perm
from fangkong.people.models import Person, PersonTag
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import Priority, WorkOrder
from fangkong.workorders.services import Subject, orders_create
from fangkong.zones.selectors import zones_of_household

DETAIL_MAX = 500


def _audit(req: HelpRequest, actor: User | None, action: AuditAction, what: str) -> None:
    audit_record(
        action=action,
        actor=actor,
        actor_name="" if actor else "resident",
        obj=req,
        object_repr=f"household request {req.pk}: {what} (person {req.person_id})",
        jurisdiction_path=req.jurisdiction.path,
        detail={"kind": req.kind.code, "channel": req.channel, "status": req.status},
    )


def may_ask(person: Person) -> bool:
    """Residents of a zone whose people stay at home or in the area, and people under a
    control order at home."""
    if under_home_control(person.pk):
        return True
    if person.household_id is None:
        return False
    return zones_of_household(person.household_id).exclude(kind__order_type="").exists()


def service_team(person: Person) -> Team | None:
    """The village's service team (with members), else the nearest one above it; a
    grid's own teams are the grid worker's, not the village's service."""
    return (
        Team.objects.filter(
            kind=TeamKind.SERVICE_TEAM,
            jurisdiction__path__in=ancestor_paths(person.jurisdiction.path),
            jurisdiction__level__lte=Level.VILLAGE,
        )
        .filter(members__isnull=False)
        .order_by("-jurisdiction__path", "id")
        .distinct()
        .first()
    )


@transaction.atomic
def request_create(
    *,
    person: Person,
    kind: RequestKind,
    channel: str,
    detail: str,
    client_id: uuid.UUID,
    actor: User | None,
    now: datetime | None = None,
) -> tuple[HelpRequest, bool]:
    """The request and whether it is new. `actor` None: the resident by their link."""
    now = now or timezone.now()
    found = HelpRequest.objects.filter(client_id=client_id).select_related("kind").first()
    if found is not None:
        if found.person_id != person.pk:
            raise ValidationError({"client_id": _("This client id belongs to another request.")})
        return found, False
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    if (actor is None) != (channel == Channel.LINK):
        raise ValidationError({"channel": _("Only the resident asks by their own link.")})
    if actor is not None and not has_perm(actor, Perm.ASSIST_ENTER, person.jurisdiction.path):
        raise PermissionDenied
    detail = " ".join(detail.split())
    if len(detail) > DETAIL_MAX:
        raise ValidationError(
            {"detail": _("At most %(n)d characters, please.") % {"n": DETAIL_MAX}}
        )
    if not may_ask(person):
        raise ValidationError(
            _(
                "Requests are for residents of sealed or controlled zones and people "
                "under control at home."
            )
        )
    green, target = kind.green, kind.target_minutes
    groups = GreenTag.objects.filter(
        tag__in=PersonTag.objects.filter(person=person).values("tag")
    ).order_by("target_minutes")
    vulnerable = groups.first()
    if vulnerable is not None:
        green, target = True, min(target, vulnerable.target_minutes)
    elif CareEntry.objects.filter(person=person).exists():
        # On the vulnerable-people register (a chemotherapy patient, an infant ...): the
        # green channel's kinds' target (data).
        green_target = RequestKind.objects.filter(green=True).aggregate(m=Min("target_minutes"))
        green, target = True, min(target, green_target["m"] or target)
    due = now + timedelta(minutes=target)
    try:
        with transaction.atomic():
            req = HelpRequest.objects.create(
                person=person,
                jurisdiction=person.jurisdiction,
                kind=kind,
                channel=channel,
                detail=detail,
                green=green,
                created_at=now,
                due_at=due,
                client_id=client_id,
                created_by=actor,
            )
    except IntegrityError:  # the same client id, sent twice at once
        return HelpRequest.objects.get(client_id=client_id), False
    team = service_team(person)
    title = _("%(kind)s: %(name)s") % {"kind": kind.name, "name": mask_name(person.name)}
    order = orders_create(
        kind=REQUEST_KIND,
        subjects=[Subject.of(req, label=mask_name(person.name))],
        actor=None,
        strategy=Strategy.TEAM if team else Strategy.GRID,
        team=team,
        due_at=due,
        priority=Priority.URGENT if green else Priority.NORMAL,
        source="assist",
        title=title,
        note=detail,
        now=now,
    )[0]
    req.work_order = order
    req.save(update_fields=["work_order"])
    _audit(req, actor, AuditAction.CREATE, "asked")
    if green:
        notice_send(
            user_ids=medical_group(person.jurisdiction),
            title=_("Green channel: %(kind)s, %(name)s (%(node)s)")
            % {"kind": kind.name, "name": mask_name(person.name), "node": person.jurisdiction.name},
            body=_("Respond within %(n)d minutes. %(detail)s")
            % {
                "n": target,
                "detail": detail,
            },
            url=f"/assist/q/{req.pk}/",
            key=f"assist:{req.pk}",
        )
    return req, True


def request_served(order: WorkOrder, result: dict[str, Any], actor: User) -> None:
    """The work order's completion (kinds.OrderKind.on_done): the request is served."""
    req = HelpRequest.objects.select_for_update().filter(pk=order.subject_id or 0).first()
    if req is None or req.status != RequestStatus.OPEN:
        return
    req.status = RequestStatus.SERVED
    req.served_at = timezone.now()
    req.save(update_fields=["status", "served_at"])
    _audit(req, actor, AuditAction.UPDATE, "served")


@transaction.atomic
def request_handover(
    *, request_id: int, to: str, note: str, actor: User, now: datetime | None = None
) -> HelpRequest:
    """Record the hand-over of a request (a green-channel one, usually) to 120 or a
    hospital; a second hand-over of the same request changes nothing."""
    now = now or timezone.now()
    req = (
        HelpRequest.objects.select_for_update()
        .select_related("kind", "jurisdiction")
        .get(pk=request_id)
    )
    if not has_perm(actor, Perm.ASSIST_ENTER, req.jurisdiction.path):
        raise PermissionDenied
    if to not in Handover.values:
        raise ValidationError({"to": _("Hand over to 120 or a hospital.")})
    if len(note) > 200:
        raise ValidationError({"note": _("At most %(n)d characters, please.") % {"n": 200}})
    if req.handover:
        return req
    req.handover = to
    req.handover_at = now
    req.handover_note = note.strip()
    if req.status == RequestStatus.OPEN:
        req.status = RequestStatus.HANDED_OVER
    req.save()
    _audit(req, actor, AuditAction.UPDATE, f"handed over to {to}")
    return req
