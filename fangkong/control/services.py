"""Writes of control orders: made from a verified measure (one or a batch) or by hand,
superseding a milder order, chained along the edition's measure, and scheduled into
sampling work orders on the edition's test days. Every write is audited and written
to the order's own history.

Health checks and releases live in `checks.py` and `release.py`; sites and transfers in
`sites.py` and `transfers.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.control.kinds import SAMPLE_KIND
from fangkong.control.models import (
    AT_SITE,
    TYPE_RANK,
    ControlEvent,
    ControlOrder,
    ControlTest,
    IsolationRoom,
    OrderSource,
    OrderStatus,
    OrderType,
    SampleResult,
)
from fangkong.org.models import StaffKind, StaffProfile
from fangkong.org.roles import Perm, Role
from fangkong.org.scoping import has_perm
from fangkong.people.models import Person
from fangkong.policy.engine import Exposure as EngineExposure
from fangkong.policy.engine import decide
from fangkong.policy.models import Measure, Place
from fangkong.screening.models import MeasureStatus, PersonMeasure
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import OPEN_STATUSES, Priority, WorkOrder

# A measure's place as the order type that carries it out.
PLACE_TYPE = {
    Place.CENTRAL: OrderType.CENTRAL,
    Place.HOME_ISOLATION: OrderType.HOME_ISOLATION,
    Place.HOME_MONITORING: OrderType.HOME_MONITORING,
    Place.TESTS_ONLY: OrderType.TESTS_3D2,
}
# Samples are taken before noon of a test day: the lab reports the same day.
SAMPLE_DUE = time(12, 0)
DEFAULT_CHECKS_PER_DAY = 2


@dataclass(frozen=True)
class Phase:
    """One period of a plan: what, from when, how long, and the test days in it."""

    type: str
    starts_on: date
    days: int
    test_days: tuple[int, ...] = ()

    @property
    def ends_on(self) -> date:
        return self.starts_on + timedelta(days=max(self.days, 1) - 1)


def _require(actor: User | None, perm: Perm, path: str) -> None:
    # None is the system (a scheduled job, the rule that follows a verification).
    if actor is not None and not has_perm(actor, perm, path):
        raise PermissionDenied


def _event(
    order: ControlOrder, actor: User | None, action: str, note: str = "", **data: Any
) -> None:
    ControlEvent.objects.create(order=order, actor=actor, action=action, note=note, data=data)


def _audit(
    order: ControlOrder, actor: User | None, action: AuditAction, what: str, **detail: Any
) -> None:
    audit_record(
        action=action,
        actor=actor,
        actor_name="" if actor else "system",
        obj=order,
        # The person's id, never their name: the audit log is not a register.
        object_repr=f"control order {order.pk}: {what} (person {order.person_id})",
        jurisdiction_path=order.jurisdiction.path,
        detail={"type": order.type, "status": order.status, **detail},
    )


# Plans -------------------------------------------------------------------------------


def plan_from_measure(pm: PersonMeasure) -> list[Phase]:
    """The phases a verified measure calls for, read from its edition's measure: the
    first period and the one that follows it (7 days centralised, then 3 at home).

    When the verifier chose another place than the edition's (home conditions not met:
    centralised instead of home isolation), the chosen place runs for the measured
    period with the edition's test days, and no chain follows."""
    if pm.place not in PLACE_TYPE or pm.starts_on is None:
        return []
    measure = Measure.objects.filter(edition__key=pm.edition, category=pm.category).first()
    if measure is None:
        end = pm.ends_on or pm.starts_on
        return [Phase(PLACE_TYPE[Place(pm.place)], pm.starts_on, (end - pm.starts_on).days + 1)]
    if measure.place == Place.TESTS_ONLY or pm.place == Place.TESTS_ONLY:
        days = measure.within_days or 3
        return [Phase(OrderType.TESTS_3D2, pm.starts_on, days, tuple(measure.tests))]
    if pm.place != measure.place:
        days = measure.days or ((pm.ends_on or pm.starts_on) - pm.starts_on).days + 1
        return [Phase(PLACE_TYPE[Place(pm.place)], pm.starts_on, days, tuple(measure.tests))]
    phases = [
        Phase(PLACE_TYPE[Place(measure.place)], pm.starts_on, measure.days, tuple(measure.tests))
    ]
    if measure.then_place in PLACE_TYPE and measure.then_days:
        phases.append(
            Phase(
                PLACE_TYPE[Place(measure.then_place)],
                phases[0].ends_on + timedelta(days=1),
                measure.then_days,
                tuple(measure.then_tests),
            )
        )
    return phases


@dataclass(frozen=True)
class Exposure:
    """A contact's exposure as decided: the category, the last day, the edition."""

    category: str
    last_on: date
    edition: str


def plan_from_exposure(
    *, category: str, last_on: date, path: str
) -> tuple[list[Phase], Exposure | None]:
    """The phases the one decision function gives a contact of this category last
    exposed on `last_on` at the place `path`, under the edition in force that day
    (none when no edition is in force or it manages no such contact)."""
    decision = decide(last_on, exposures=[EngineExposure(category, last_on)], path=path)
    if decision.edition is None or decision.category != category:
        return [], None
    phases = [
        Phase(
            PLACE_TYPE[Place(p.place)],
            p.start,
            (p.end - p.start).days + 1,
            tuple((d - p.start).days + 1 for d in p.test_dates),
        )
        for p in decision.periods
        if p.place in PLACE_TYPE
    ]
    return phases, Exposure(category, last_on, decision.edition.key)


def _checks_per_day(pm: PersonMeasure | None) -> int:
    if pm is None:
        return DEFAULT_CHECKS_PER_DAY
    measure = Measure.objects.filter(edition__key=pm.edition, category=pm.category).first()
    return (
        measure.followups_per_day
        if measure and measure.followups_per_day
        else DEFAULT_CHECKS_PER_DAY
    )


# Team (四包一) ---------------------------------------------------------------------------


def _nearest_staff(person: Person, kinds: Sequence[str]) -> StaffProfile | None:
    """The staff member of one of `kinds` listed nearest above the person's node."""
    path = person.jurisdiction.path
    found = [
        s
        for s in StaffProfile.objects.filter(kind__in=kinds).select_related("jurisdiction")
        if path.startswith(s.jurisdiction.path)
    ]
    return max(found, key=lambda s: len(s.jurisdiction.path), default=None)


def default_team(person: Person) -> dict[str, StaffProfile | None]:
    """四包一 as the registry has it: the nearest cadre, grid worker, doctor and police
    officer listed at or above the person's node (each may be changed on the order)."""
    return {
        "cadre": _nearest_staff(person, [StaffKind.VILLAGE_CADRE, StaffKind.TOWN_CADRE]),
        "grid_worker": _nearest_staff(person, [StaffKind.GRID_WORKER, StaffKind.GRID_LEADER]),
        "doctor": _nearest_staff(person, [StaffKind.MEDICAL]),
        "police": _nearest_staff(person, [StaffKind.POLICE]),
    }


@transaction.atomic
def team_set(
    *, order_id: int, actor: User, expected_version: int, team: dict[str, StaffProfile | None]
) -> ControlOrder:
    """Name the order's 四包一; each named person must be staff of the order's area."""
    order = _locked(order_id, expected_version)
    _require(actor, Perm.CONTROL_MANAGE, order.jurisdiction.path)
    if order.status not in (OrderStatus.ACTIVE, OrderStatus.PLANNED):
        raise ValidationError(_("Only an active or planned order's team is changed."))
    for role, staff in team.items():
        if role not in ("cadre", "grid_worker", "doctor", "police"):
            raise ValidationError({role: _("Unknown team role.")})
        if staff is not None and not (
            order.jurisdiction.path.startswith(staff.jurisdiction.path)
            or staff.jurisdiction.path.startswith(order.jurisdiction.path)
        ):
            raise ValidationError({role: _("This staff member works outside the order's area.")})
        setattr(order, role, staff)
    _bump(order)
    _event(order, actor, "team", data_team={k: v.pk if v else None for k, v in team.items()})
    _audit(order, actor, AuditAction.UPDATE, "team")
    return order


# Creating -------------------------------------------------------------------------------


@dataclass
class Created:
    """What one creation did: the orders made (the active one first), and the order it
    superseded, if any."""

    orders: list[ControlOrder] = field(default_factory=list)
    superseded: ControlOrder | None = None


def _active(person: Person) -> ControlOrder | None:
    return (
        ControlOrder.objects.select_for_update()
        .filter(person=person, status=OrderStatus.ACTIVE)
        .first()
    )


def _check_room(order_type: str, room: IsolationRoom | None) -> None:
    if order_type in AT_SITE and room is None:
        raise ValidationError({"room": _("Centralised isolation needs a room at a site.")})
    if order_type not in AT_SITE and room is not None:
        raise ValidationError({"room": _("Only centralised isolation takes a room.")})


def _create_chain(
    *,
    person: Person,
    phases: Sequence[Phase],
    source: str,
    actor: User | None,
    reason: str,
    room: IsolationRoom | None,
    pm: PersonMeasure | None,
    now: datetime,
    exposure: Exposure | None = None,
) -> Created:
    """`exposure`: a contact's (no verified measure behind the order), kept on every
    order of the chain with the category and edition it was decided under."""
    from fangkong.control.sites import room_take

    if not phases:
        raise ValidationError(_("This measure calls for no control order."))
    _require(actor, Perm.CONTROL_MANAGE, person.jurisdiction.path)
    _check_room(phases[0].type, room)
    active = _active(person)
    result = Created()
    if active is not None:
        if TYPE_RANK[OrderType(phases[0].type)] <= TYPE_RANK[OrderType(active.type)]:
            raise ValidationError(
                _(
                    "%(person)s is already under %(type)s until %(end)s; only a stricter "
                    "order replaces it."
                )
                % {
                    "person": person.name,
                    "type": OrderType(active.type).label,
                    "end": active.ends_on.isoformat(),
                }
            )
        _supersede(active, actor, now)
        result.superseded = active
    if room is not None:
        room_take(room=room, person=person)
    team = default_team(person)
    previous = active
    for i, phase in enumerate(phases):
        order = ControlOrder.objects.create(
            person=person,
            jurisdiction=person.jurisdiction,
            type=phase.type,
            status=OrderStatus.ACTIVE if i == 0 else OrderStatus.PLANNED,
            starts_on=phase.starts_on,
            ends_on=phase.ends_on,
            room=room if i == 0 else None,
            household=None if phase.type in AT_SITE else person.household,
            source=source,
            measure=pm,
            edition=pm.edition if pm else (exposure.edition if exposure else ""),
            category=pm.category if pm else (exposure.category if exposure else ""),
            exposed_on=exposure.last_on if exposure else None,
            test_days=list(phase.test_days),
            checks_per_day=_checks_per_day(pm),
            reason=reason,
            previous=previous,
            created_by=actor,
            **team,
        )
        _event(
            order,
            actor,
            "created" if i == 0 else "planned",
            reason,
            superseded=active.pk if active and i == 0 else None,
        )
        _audit(order, actor, AuditAction.CREATE, "created", source=source)
        _schedule(order, now)
        result.orders.append(order)
        previous = order
    return result


def _supersede(active: ControlOrder, actor: User | None, now: datetime) -> None:
    """Close an order (and the planned ones after it) for a stricter one, history kept."""
    from fangkong.control.sites import room_leave

    chain = [active, *ControlOrder.objects.filter(person=active.person, status=OrderStatus.PLANNED)]
    for order in chain:
        order.status = OrderStatus.SUPERSEDED
        _bump(order)
        _event(order, actor, "superseded")
        _audit(order, actor, AuditAction.UPDATE, "superseded")
        _cancel_samples(order, actor, _("The control order was superseded."))
    if active.room is not None:
        room_leave(room=active.room, person=active.person)


def _cancel_samples(order: ControlOrder, actor: User | None, note: str) -> None:
    """Close the order's open sampling orders. The control order's own change is what
    permits it (a grid worker superseding an order holds no dispatch permission), so
    the cancellation is written here the way the work-order services write theirs."""
    from fangkong.workorders.models import Action, Status, WorkOrderEvent
    from fangkong.workorders.services import local_day, tally_add

    open_orders = list(
        WorkOrder.objects.select_for_update().filter(
            pk__in=order.tests.exclude(work_order=None).values("work_order_id"),
            status__in=OPEN_STATUSES,
        )
    )
    for work in open_orders:
        WorkOrder.objects.filter(pk=work.pk).update(
            status=Status.CANCELLED, version=work.version + 1, updated_at=timezone.now()
        )
        WorkOrderEvent.objects.create(
            order=work,
            actor=actor,
            action=Action.CANCELLED,
            from_status=work.status,
            to_status=Status.CANCELLED,
            note=note,
        )
    tally_add(((w.jurisdiction_id, w.kind, local_day(w.due_at)), -1, 0) for w in open_orders)


def _bump(order: ControlOrder) -> None:
    order.version += 1
    order.save()


def _locked(order_id: int, expected_version: int | None) -> ControlOrder:
    from fangkong.workorders.services import Conflict

    order = (
        ControlOrder.objects.select_for_update()
        .select_related("jurisdiction", "person")
        .get(pk=order_id)
    )
    if expected_version is not None and order.version != expected_version:
        raise Conflict
    return order


def _sample_due(day: date, now: datetime) -> datetime:
    due = timezone.make_aware(datetime.combine(day, SAMPLE_DUE))
    # A test day already past (the period counts from the departure) is sampled at once.
    return max(due, now + timedelta(hours=1))


def _schedule(order: ControlOrder, now: datetime) -> None:
    """Test days become tests, each with a sampling order due on its day, where the
    person is: at the site for centralised isolation, at home otherwise."""
    from fangkong.workorders.services import Subject, orders_create

    for day in order.test_days:
        if not 1 <= int(day) <= order.days:
            continue
        test = ControlTest.objects.create(
            order=order, day=int(day), on=order.starts_on + timedelta(days=int(day) - 1)
        )
        if order.status != OrderStatus.ACTIVE and test.on < now.date():
            continue
        where = (
            _("on site at %(room)s") % {"room": order.room}
            if order.room
            else _("at home: %(address)s") % {"address": order.person.household.address}
            if order.person.household
            else _("at home")
        )
        (work,) = orders_create(
            kind=SAMPLE_KIND,
            subjects=[Subject.of(test, label=order.person.name)],
            actor=None,
            strategy=Strategy.GRID,
            role=Role.GRID_WORKER,
            due_at=_sample_due(test.on, now),
            priority=Priority.HIGH,
            source="control",
            title=_("Day %(day)d test of %(type)s, %(where)s")
            % {"day": test.day, "type": OrderType(order.type).label, "where": where},
            now=now,
        )
        test.work_order = work
        test.save(update_fields=["work_order"])


@transaction.atomic
def order_from_measure(
    *,
    measure: PersonMeasure,
    actor: User | None,
    room: IsolationRoom | None = None,
    source: str = OrderSource.REPORT,
    now: datetime | None = None,
) -> Created:
    """The control order(s) a verified measure calls for, with the chain that follows."""
    now = now or timezone.now()
    if measure.status != MeasureStatus.VERIFIED:
        raise ValidationError(_("Only a verified measure makes a control order."))
    if measure.person is None:
        raise ValidationError(
            _("The measure names nobody in the registry yet: register the person first.")
        )
    if measure.control_orders.exists():
        raise ValidationError(_("This measure already has its control order."))
    phases = plan_from_measure(measure)
    return _create_chain(
        person=measure.person,
        phases=phases,
        source=source,
        actor=actor,
        reason=measure.reason,
        room=room,
        pm=measure,
        now=now,
    )


@dataclass
class BatchResult:
    created: list[ControlOrder] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (measure id, why)


def orders_from_measures(
    *,
    measures: Sequence[PersonMeasure],
    actor: User | None,
    rooms: dict[int, IsolationRoom] | None = None,
    now: datetime | None = None,
) -> BatchResult:
    """One click for many verified measures: each gets its orders in its own
    transaction, so one refused measure (no room, a stricter order already) leaves the
    others made, and says why it was skipped."""
    from fangkong.control.sites import find_room

    result = BatchResult()
    for pm in measures:
        room = (rooms or {}).get(pm.pk)
        phases = plan_from_measure(pm)
        if room is None and pm.person is not None and phases and phases[0].type in AT_SITE:
            # One click places everyone: a room of their family, else a free one.
            room = find_room(pm.person)
        try:
            made = order_from_measure(measure=pm, actor=actor, room=room, now=now)
        except ValidationError as e:
            result.skipped.append((pm.pk, " ".join(e.messages)))
            continue
        except IntegrityError:
            result.skipped.append((pm.pk, _("Someone else put this person under control first.")))
            continue
        result.created.extend(made.orders)
    return result


@transaction.atomic
def order_create(
    *,
    person: Person,
    type: str,
    starts_on: date,
    days: int,
    actor: User,
    reason: str,
    test_days: Sequence[int] = (),
    source: str = OrderSource.MANUAL,
    room: IsolationRoom | None = None,
    then_type: str = "",
    then_days: int = 0,
    then_test_days: Sequence[int] = (),
    now: datetime | None = None,
) -> Created:
    """An order made by hand (a case's contact, a positive test, a judgement): a reason
    is required, and days and test days are checked."""
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationError({"reason": _("An order made by hand needs a reason.")})
    if type not in OrderType.values:
        raise ValidationError({"type": _("Unknown type of control order.")})
    if source not in OrderSource.values:
        raise ValidationError({"source": _("Unknown source of a control order.")})
    if not 1 <= days <= 60:
        raise ValidationError({"days": _("An order runs for 1 to 60 days.")})
    bad = [d for d in test_days if not 1 <= int(d) <= days]
    if bad:
        raise ValidationError({"test_days": _("Test days must fall within the order's days.")})
    if abs((starts_on - now.date()).days) > 30:
        raise ValidationError({"starts_on": _("The start must be within 30 days of today.")})
    phases = [Phase(type, starts_on, days, tuple(int(d) for d in test_days))]
    if then_type:
        if then_type not in OrderType.values or not 1 <= then_days <= 60:
            raise ValidationError({"then_type": _("The follow-on order is not valid.")})
        phases.append(
            Phase(
                then_type,
                phases[0].ends_on + timedelta(days=1),
                then_days,
                tuple(int(d) for d in then_test_days),
            )
        )
    return _create_chain(
        person=person,
        phases=phases,
        source=source,
        actor=actor,
        reason=reason.strip(),
        room=room,
        pm=None,
        now=now,
    )


@transaction.atomic
def contact_order(
    *,
    person: Person,
    category: str,
    last_on: date,
    actor: User | None,
    reason: str,
    now: datetime | None = None,
) -> Created:
    """A case's contact put under control as the edition in force on `last_on` decides
    for the category (a close or secondary contact), in a room of the town's sites when
    it calls for centralised isolation. A ValidationError says why not (no edition
    manages such a contact, no room is free, a stricter order is already running)."""
    from fangkong.control.sites import find_room

    phases, exposure = plan_from_exposure(
        category=category, last_on=last_on, path=person.jurisdiction.path
    )
    room = find_room(person) if phases and phases[0].type in AT_SITE else None
    return _create_chain(
        person=person,
        phases=phases,
        source=OrderSource.CONTACT,
        actor=actor,
        reason=reason,
        room=room,
        pm=None,
        now=now or timezone.now(),
        exposure=exposure,
    )


# Tests --------------------------------------------------------------------------------


def sample_done(work: WorkOrder, result: dict[str, Any], actor: User) -> None:
    """The sampling order's result (kinds.OrderKind.on_done), recorded on the test."""
    test = ControlTest.objects.select_related("order").filter(pk=work.subject_id or 0).first()
    if test is None:
        return
    outcome = str(result.get("result", ""))
    if outcome in (SampleResult.NEGATIVE, SampleResult.POSITIVE):
        result_record(test=test, result=outcome, actor=actor)


def result_record(
    *, test: ControlTest, result: str, actor: User | None, now: datetime | None = None
) -> ControlTest:
    """Record a test's result (by hand here; the testing module feeds it later)."""
    if result not in SampleResult.values:
        raise ValidationError({"result": _("Unknown test result.")})
    _require(actor, Perm.CONTROL_MANAGE, test.order.jurisdiction.path)
    test.result = result
    test.recorded_at = now or timezone.now()
    test.save(update_fields=["result", "recorded_at"])
    _event(
        test.order,
        actor,
        "test",
        _("Day %(day)d: %(result)s")
        % {
            "day": test.day,
            "result": SampleResult(result).label,
        },
    )
    _audit(test.order, actor, AuditAction.UPDATE, f"test day {test.day}", result=result)
    return test


def measure_verified(measure: PersonMeasure) -> ControlOrder | None:
    """Registered with screening: a verified measure puts the person under control at
    once, in a room found at a site of their town for centralised isolation. When that
    cannot be done (no room free, nobody in the registry, a stricter order already), the
    verification still stands and the measure waits on the list of those to place."""
    from fangkong.control.sites import find_room

    phases = plan_from_measure(measure)
    if not phases or measure.person is None:
        return None
    room = find_room(measure.person) if phases[0].type in AT_SITE else None
    try:
        with transaction.atomic():
            made = order_from_measure(measure=measure, actor=None, room=room)
    except (ValidationError, IntegrityError):
        return None
    return made.orders[0]
