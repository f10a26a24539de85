"""Isolation sites and their rooms: one person or one family per room, never more
people than beds, a room left by its last person waits to be cleaned."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.control.models import (
    ControlOrder,
    IsolationRoom,
    IsolationSite,
    OrderStatus,
    RoomState,
)
from fangkong.org.models import Jurisdiction
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.people.models import Person


@transaction.atomic
def site_create(
    *,
    actor: User,
    jurisdiction: Jurisdiction,
    name: str,
    kind: str,
    address: str = "",
    rooms: Sequence[tuple[str, int]] = (),
) -> IsolationSite:
    """A site with its rooms (number, beds)."""
    if not has_perm(actor, Perm.CONTROL_MANAGE, jurisdiction.path):
        raise PermissionDenied
    if not name.strip():
        raise ValidationError({"name": _("A site needs a name.")})
    if any(beds < 1 or beds > 20 for _number, beds in rooms):
        raise ValidationError({"rooms": _("A room has 1 to 20 beds.")})
    numbers = [n.strip() for n, _beds in rooms]
    if len(set(numbers)) != len(numbers) or not all(numbers):
        raise ValidationError({"rooms": _("Each room needs its own number.")})
    site = IsolationSite.objects.create(
        jurisdiction=jurisdiction, name=name.strip(), kind=kind, address=address
    )
    IsolationRoom.objects.bulk_create(
        [IsolationRoom(site=site, number=n.strip(), capacity=beds) for n, beds in rooms]
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=site,
        object_repr=f"isolation site: {site.name}",
        jurisdiction_path=jurisdiction.path,
        detail={"rooms": len(rooms), "beds": sum(b for _n, b in rooms)},
    )
    return site


def occupants(room: IsolationRoom) -> int:
    return ControlOrder.objects.filter(room=room, status=OrderStatus.ACTIVE).count()


def room_take(*, room: IsolationRoom, person: Person) -> IsolationRoom:
    """Put `person` in `room`, in the caller's transaction: refused when the room holds
    another household, is waiting to be cleaned, or has no bed left."""
    locked = IsolationRoom.objects.select_for_update().get(pk=room.pk)
    if locked.state == RoomState.CLEANING:
        raise ValidationError(
            {"room": _("Room %(room)s is waiting to be cleaned.") % {"room": locked.number}}
        )
    taken = (
        ControlOrder.objects.filter(room=locked, status=OrderStatus.ACTIVE)
        .exclude(person=person)
        .count()
    )
    if taken and locked.household_id is not None and locked.household_id != person.household_id:
        raise ValidationError(
            {"room": _("Room %(room)s holds another family.") % {"room": locked.number}}
        )
    if taken and locked.household_id is None:
        raise ValidationError(
            {"room": _("Room %(room)s holds someone else.") % {"room": locked.number}}
        )
    if taken + 1 > locked.capacity:
        raise ValidationError(
            {
                "room": _("Room %(room)s is full (%(beds)d beds).")
                % {"room": locked.number, "beds": locked.capacity}
            }
        )
    locked.state = RoomState.OCCUPIED
    locked.household_id = person.household_id
    locked.version += 1
    locked.save(update_fields=["state", "household", "version"])
    return locked


def room_leave(*, room: IsolationRoom, person: Person) -> None:
    """The person left: when nobody else stays, the room waits to be cleaned."""
    locked = IsolationRoom.objects.select_for_update().get(pk=room.pk)
    staying = (
        ControlOrder.objects.filter(room=locked, status=OrderStatus.ACTIVE)
        .exclude(person=person)
        .exists()
    )
    if not staying:
        locked.state = RoomState.CLEANING
        locked.household = None
        locked.version += 1
        locked.save(update_fields=["state", "household", "version"])


@transaction.atomic
def room_cleaned(*, actor: User, room: IsolationRoom) -> IsolationRoom:
    if not has_perm(actor, Perm.CONTROL_MANAGE, room.site.jurisdiction.path):
        raise PermissionDenied
    locked = IsolationRoom.objects.select_for_update().get(pk=room.pk)
    if locked.state != RoomState.CLEANING:
        raise ValidationError({"room": _("Only a room waiting to be cleaned is marked clean.")})
    locked.state = RoomState.FREE
    locked.version += 1
    locked.save(update_fields=["state", "version"])
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        object_repr=f"room cleaned: {locked}",
        jurisdiction_path=room.site.jurisdiction.path,
    )
    return locked


def find_room(person: Person) -> IsolationRoom | None:
    """A room for `person` at a site of their town: one their family already holds with
    a bed free (families together), else a free room, fewest beds first."""
    rooms = IsolationRoom.objects.select_related("site__jurisdiction").exclude(
        site__kind="hospital"
    )
    # Sites are run by the town or the county: any site on the person's path serves them.
    reachable = [
        r
        for r in rooms.filter(state__in=[RoomState.FREE, RoomState.OCCUPIED])
        if person.jurisdiction.path.startswith(r.site.jurisdiction.path)
    ]
    family = [
        r
        for r in reachable
        if r.household_id is not None
        and r.household_id == person.household_id
        and occupants(r) < r.capacity
    ]
    if family:
        return family[0]
    free = [r for r in reachable if r.state == RoomState.FREE]
    return min(free, key=lambda r: (r.capacity, r.site_id, r.number), default=None)
