"""Closed-loop transfers (转运): planned with vehicle, driver, escort and passengers;
the escort confirms the departure, the receiving site confirms the arrival, each with
its time. Until then the passengers are on the live in-transit list; a transfer not
received within the set time escalates to the town's command."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.control.models import (
    ControlOrder,
    IsolationRoom,
    IsolationSite,
    OrderStatus,
    Passenger,
    Transfer,
    TransferStatus,
)
from fangkong.org.models import Jurisdiction, Membership, StaffProfile
from fangkong.org.roles import Perm, Role
from fangkong.org.scoping import ancestor_paths, has_perm
from fangkong.people.models import Person

# Not received this long after leaving: the town's command hears of it.
RECEIVE_WITHIN = timedelta(hours=2)
ESCALATION_EVENT = "escalation"


@dataclass(frozen=True)
class Rider:
    person: Person
    order: ControlOrder | None = None
    room: IsolationRoom | None = None


def _audit(transfer: Transfer, actor: User | None, what: str, **detail: object) -> None:
    audit_record(
        action=AuditAction.CREATE if what == "created" else AuditAction.UPDATE,
        actor=actor,
        actor_name="" if actor else "system",
        obj=transfer,
        object_repr=f"transfer {transfer.pk}: {what}",
        jurisdiction_path=transfer.jurisdiction.path,
        detail={"status": transfer.status, **detail},
    )


@transaction.atomic
def transfer_create(
    *,
    actor: User,
    jurisdiction: Jurisdiction,
    pickup: str,
    destination: IsolationSite,
    vehicle: str,
    driver: str,
    escort: User,
    riders: Sequence[Rider],
) -> Transfer:
    if not has_perm(actor, Perm.CONTROL_MANAGE, jurisdiction.path):
        raise PermissionDenied
    if not riders:
        raise ValidationError({"passengers": _("A transfer carries at least one person.")})
    if not (pickup.strip() and vehicle.strip() and driver.strip()):
        raise ValidationError(_("Pick-up, vehicle and driver are required."))
    people = [r.person.pk for r in riders]
    if len(set(people)) != len(people):
        raise ValidationError({"passengers": _("A person is listed twice.")})
    for r in riders:
        if not r.person.jurisdiction.path.startswith(jurisdiction.path):
            raise ValidationError({"passengers": _("A passenger lives outside this area.")})
        if r.room is not None and r.room.site_id != destination.pk:
            raise ValidationError({"passengers": _("A room is not at the destination.")})
    moving = Passenger.objects.filter(
        person_id__in=people,
        transfer__status__in=[TransferStatus.PLANNED, TransferStatus.IN_TRANSIT],
    )
    if moving.exists():
        raise ValidationError({"passengers": _("A passenger is already on another transfer.")})
    transfer = Transfer.objects.create(
        jurisdiction=jurisdiction,
        pickup=pickup.strip(),
        destination=destination,
        vehicle=vehicle.strip(),
        driver=driver.strip(),
        escort=escort,
    )
    Passenger.objects.bulk_create(
        [Passenger(transfer=transfer, person=r.person, order=r.order, room=r.room) for r in riders]
    )
    _audit(transfer, actor, "created", passengers=len(riders))
    return transfer


def transfer_plan(
    *,
    actor: User,
    orders: Sequence[ControlOrder],
    pickup: str,
    destination: IsolationSite,
    vehicle: str,
    driver: str,
    escort: User | StaffProfile,
) -> Transfer:
    """A transfer of people under control (the page's and the API's form): organised by
    the passengers' town when they share one, else where the destination is; each rides
    to their own room when it is at the destination."""
    from fangkong.control.checks import town_of

    if isinstance(escort, StaffProfile):
        if escort.user is None:
            raise ValidationError({"escort": _("The escort has no account to confirm with.")})
        escort = escort.user
    if not orders:
        raise ValidationError({"passengers": _("A transfer carries at least one person.")})
    closed = [o for o in orders if o.status not in (OrderStatus.ACTIVE, OrderStatus.PLANNED)]
    if closed:
        raise ValidationError(
            {
                "passengers": _("%(n)d of the people are no longer under control.")
                % {"n": len(closed)}
            }
        )
    # Organised by the command over every town involved: the passengers' town when the
    # site is theirs too, else the county above both (neither town sends people into
    # the other's site on its own).
    towns = [town_of(o.jurisdiction) for o in orders] + [town_of(destination.jurisdiction)]
    node = common_node(towns)
    if node is None:
        raise ValidationError(
            {"destination": _("No command covers both the passengers and this site.")}
        )
    return transfer_create(
        actor=actor,
        jurisdiction=node,
        pickup=pickup,
        destination=destination,
        vehicle=vehicle,
        driver=driver,
        escort=escort,
        riders=[
            Rider(
                o.person,
                o,
                o.room if o.room is not None and o.room.site_id == destination.pk else None,
            )
            for o in orders
        ],
    )


def common_node(nodes: Sequence[Jurisdiction]) -> Jurisdiction | None:
    """The lowest node at or above every one of `nodes` (None across two trees)."""
    common = ancestor_paths(nodes[0].path)
    for node in nodes[1:]:
        above = set(ancestor_paths(node.path))
        common = [p for p in common if p in above]
    if not common:
        return None
    return next((n for n in nodes if n.path == common[-1]), None) or (
        Jurisdiction.objects.get(path=common[-1])
    )


def _locked(transfer_id: int, expected_version: int) -> Transfer:
    from fangkong.workorders.services import Conflict

    transfer = (
        Transfer.objects.select_for_update()
        .select_related("jurisdiction", "destination__jurisdiction")
        .get(pk=transfer_id)
    )
    if transfer.version != expected_version:
        raise Conflict
    return transfer


@transaction.atomic
def transfer_depart(
    *, transfer_id: int, actor: User, expected_version: int, now: datetime | None = None
) -> Transfer:
    """The escort (or the command) confirms the passengers are on board and leaving."""
    transfer = _locked(transfer_id, expected_version)
    if actor.pk != transfer.escort_id and not has_perm(
        actor, Perm.CONTROL_MANAGE, transfer.jurisdiction.path
    ):
        raise PermissionDenied
    if transfer.status != TransferStatus.PLANNED:
        raise ValidationError(_("This transfer has already left."))
    transfer.status = TransferStatus.IN_TRANSIT
    transfer.departed_at = now or timezone.now()
    transfer.version += 1
    transfer.save()
    _audit(transfer, actor, "departed")
    return transfer


@transaction.atomic
def transfer_receive(
    *, transfer_id: int, actor: User, expected_version: int, now: datetime | None = None
) -> Transfer:
    """The receiving site confirms every passenger arrived (staff of the destination's
    node, never the escort alone: both ends sign)."""
    transfer = _locked(transfer_id, expected_version)
    if actor.pk == transfer.escort_id or not has_perm(
        actor, Perm.CONTROL_MANAGE, transfer.destination.jurisdiction.path
    ):
        raise PermissionDenied
    if transfer.status != TransferStatus.IN_TRANSIT:
        raise ValidationError(_("Only a transfer on its way is received."))
    transfer.status = TransferStatus.RECEIVED
    transfer.received_at = now or timezone.now()
    transfer.received_by = actor
    transfer.version += 1
    transfer.save()
    _audit(transfer, actor, "received", minutes=_minutes(transfer))
    return transfer


def _minutes(transfer: Transfer) -> int:
    if transfer.departed_at is None or transfer.received_at is None:
        return 0
    return int((transfer.received_at - transfer.departed_at).total_seconds() // 60)


def in_transit(paths: Sequence[str] | None = None) -> QuerySet[Passenger]:
    """Everyone on a vehicle now: left and not yet received (within `paths`, if given)."""
    rows = Passenger.objects.filter(transfer__status=TransferStatus.IN_TRANSIT).select_related(
        "person", "transfer__destination"
    )
    if paths is not None:
        from django.db.models import Q

        q = Q(pk__in=[])
        for path in paths:
            q |= Q(transfer__jurisdiction__path__startswith=path)
        rows = rows.filter(q)
    return rows.order_by("transfer__departed_at", "transfer_id", "id")


def escalate_overdue(now: datetime | None = None) -> int:
    """Transfers on the road longer than RECEIVE_WITHIN: the town's commanders hear of
    each once (inbox and the escalation group robots)."""
    from fangkong.notify.services import deliver, notice_send, routes

    now = now or timezone.now()
    late = list(
        Transfer.objects.filter(
            status=TransferStatus.IN_TRANSIT,
            departed_at__lte=now - RECEIVE_WITHIN,
            escalated_at__isnull=True,
        ).select_related("jurisdiction", "destination")
    )
    for transfer in late:
        with transaction.atomic():
            if not Transfer.objects.filter(pk=transfer.pk, escalated_at__isnull=True).update(
                escalated_at=now
            ):
                continue
            commanders = Membership.objects.filter(
                role__in=[Role.TOWN_COMMANDER, Role.COUNTY_OFFICER],
                jurisdiction__path__in=ancestor_paths(transfer.jurisdiction.path),
            ).values_list("user_id", flat=True)
            with override("zh-hans"):
                title = _("Transfer %(vehicle)s not received after %(hours)d hours") % {
                    "vehicle": transfer.vehicle,
                    "hours": RECEIVE_WITHIN.seconds // 3600,
                }
                body = _("From %(pickup)s to %(site)s, %(n)d people on board.") % {
                    "pickup": transfer.pickup,
                    "site": transfer.destination.name,
                    "n": transfer.passengers.count(),
                }
            key = f"control-transfer-late:{transfer.pk}"
            notice_send(user_ids=[*commanders, transfer.escort_id], title=title, body=body, key=key)
            deliver(
                channels=routes(ESCALATION_EVENT, transfer.jurisdiction.path),
                title=title,
                body=body,
                event=ESCALATION_EVENT,
                key=key,
                now=now,
            )
            _audit(transfer, None, "escalated")
    return len(late)
