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
from fangkong.org.models import Jurisdiction, StaffProfile
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


# Editing sites and rooms -----------------------------------------------------------------

ROOM_BEDS = (1, 20)


def _may_manage(actor: User, site: IsolationSite) -> None:
    if not has_perm(actor, Perm.CONTROL_MANAGE, site.jurisdiction.path):
        raise PermissionDenied


def _audit_site(actor: User, site: IsolationSite, what: str, **detail: object) -> None:
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=site,
        object_repr=f"isolation site: {site.name}: {what}",
        jurisdiction_path=site.jurisdiction.path,
        detail=dict(detail),
    )


@transaction.atomic
def site_update(
    *, actor: User, site: IsolationSite, name: str, kind: str, address: str = ""
) -> IsolationSite:
    from fangkong.control.models import SiteKind

    _may_manage(actor, site)
    if not name.strip():
        raise ValidationError({"name": _("A site needs a name.")})
    if kind not in SiteKind.values:
        raise ValidationError({"kind": _("Unknown kind of site.")})
    if len(name.strip()) > 100 or len(address) > 200:
        raise ValidationError({"name": _("The name or the address is too long.")})
    site.name, site.kind, site.address = name.strip(), kind, address.strip()
    site.save(update_fields=["name", "kind", "address"])
    _audit_site(actor, site, "updated", kind=kind)
    return site


def _beds(capacity: int) -> None:
    if not ROOM_BEDS[0] <= capacity <= ROOM_BEDS[1]:
        raise ValidationError({"capacity": _("A room has 1 to 20 beds.")})


@transaction.atomic
def room_add(*, actor: User, site: IsolationSite, number: str, capacity: int) -> IsolationRoom:
    _may_manage(actor, site)
    number = number.strip()
    if not number or len(number) > 20:
        raise ValidationError({"number": _("A room needs a number of up to 20 characters.")})
    _beds(capacity)
    if IsolationRoom.objects.filter(site=site, number=number).exists():
        raise ValidationError(
            {"number": _("Room %(room)s is already at this site.") % {"room": number}}
        )
    room = IsolationRoom.objects.create(site=site, number=number, capacity=capacity)
    _audit_site(actor, site, f"room {number} added", beds=capacity)
    return room


@transaction.atomic
def room_update(
    *, actor: User, room: IsolationRoom, capacity: int, state: str, expected_version: int
) -> IsolationRoom:
    """Change a room's beds or state under its lock: never fewer beds than the people in
    it, never "free" while someone stays, "occupied" only by putting someone in it."""
    from fangkong.workorders.services import Conflict

    _may_manage(actor, room.site)
    locked = IsolationRoom.objects.select_for_update().select_related("site").get(pk=room.pk)
    if locked.version != expected_version:
        raise Conflict
    _beds(capacity)
    if state not in RoomState.values:
        raise ValidationError({"state": _("Unknown room state.")})
    staying = occupants(locked)
    if capacity < staying:
        raise ValidationError(
            {
                "capacity": _("Room %(room)s holds %(n)d people: it cannot have fewer beds.")
                % {"room": locked.number, "n": staying}
            }
        )
    if state != locked.state:
        if staying:
            raise ValidationError(
                {
                    "state": _("Room %(room)s is occupied: its state follows its people.")
                    % {"room": locked.number}
                }
            )
        if state == RoomState.OCCUPIED:
            raise ValidationError(
                {"state": _("A room becomes occupied when someone is put in it.")}
            )
    before = (locked.capacity, locked.state)
    locked.capacity, locked.state = capacity, state
    if state == RoomState.FREE:
        locked.household = None
    locked.version += 1
    locked.save(update_fields=["capacity", "state", "household", "version"])
    _audit_site(
        actor,
        locked.site,
        f"room {locked.number} changed",
        before=list(before),
        after=[capacity, state],
    )
    return locked


@transaction.atomic
def site_staff_set(
    *, actor: User, site: IsolationSite, staff: Sequence[StaffProfile]
) -> IsolationSite:
    """Name the site's staff: each must work in the site's area (at or below its node)."""
    _may_manage(actor, site)
    outside = [s.name for s in staff if not s.jurisdiction.path.startswith(site.jurisdiction.path)]
    if outside:
        raise ValidationError(
            {"staff": _("Works outside the site's area: %(names)s") % {"names": "、".join(outside)}}
        )
    site.staff.set(staff)
    _audit_site(actor, site, "staff", staff=sorted(s.pk for s in staff))
    return site
