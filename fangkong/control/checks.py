"""Daily health checks: recorded by staff or by the person through a personal link (a
signed, expiring token: no account), idempotent by the client's id. A fever or a listed
symptom tells the town's medical group at once and opens an urgent visit; a day with
fewer checks than the order asks opens a visit for the grid worker."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.control.kinds import FEVER_KIND, MISSED_CHECK_KIND
from fangkong.control.models import ControlEvent, ControlOrder, HealthCheck, OrderStatus
from fangkong.org.models import Jurisdiction, Level, Membership, StaffKind, StaffProfile
from fangkong.org.roles import Perm, Role
from fangkong.org.scoping import ancestor_paths, has_perm
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import Priority, WorkOrder

FEVER_AT = Decimal("37.3")
LOWEST, HIGHEST = Decimal("34.0"), Decimal("43.0")
# The symptoms a check asks about; any of them alarms like a fever (9th edition: fever,
# dry cough, fatigue, sore throat, loss of smell or taste, congestion, runny nose,
# conjunctivitis, muscle ache, diarrhoea).
SYMPTOMS = {
    "cough": gettext_lazy("Cough"),
    "sore_throat": gettext_lazy("Sore throat"),
    "fatigue": gettext_lazy("Fatigue"),
    "smell_taste": gettext_lazy("Loss of smell or taste"),
    "congestion": gettext_lazy("Blocked or runny nose"),
    "muscle_ache": gettext_lazy("Muscle ache"),
    "diarrhoea": gettext_lazy("Diarrhoea"),
    "breathless": gettext_lazy("Short of breath"),
}
ALERT_EVENT = "control_alert"
_SALT = "fangkong.control.self-check"
# A link outlives its order by a day (the last evening's check), never more.
_GRACE_DAYS = 1


def parse_temperature(raw: object) -> Decimal:
    try:
        value = Decimal(str(raw).strip().replace("，", ".").replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ValidationError(
            {"temperature": _("Enter the temperature as a number, e.g. 36.5.")}
        ) from None
    if not value.is_finite() or not LOWEST <= value <= HIGHEST:
        raise ValidationError(
            {
                "temperature": _("A temperature is between %(low)s and %(high)s °C.")
                % {"low": LOWEST, "high": HIGHEST}
            }
        )
    return value.quantize(Decimal("0.1"))


# The personal link --------------------------------------------------------------------


def self_check_token(order: ControlOrder) -> str:
    """The token of the person's own link: the order and the last day it is good for."""
    until = order.ends_on + timedelta(days=_GRACE_DAYS)
    return signing.dumps({"o": order.pk, "u": until.isoformat()}, salt=_SALT, compress=True)


def order_for_token(token: str, today: date | None = None) -> ControlOrder | None:
    """The order a token is for, or None when it is forged, expired or its order is
    not under way (released, superseded): the page then says only that the link no
    longer works."""
    try:
        data = signing.loads(token[:200], salt=_SALT)
        until = date.fromisoformat(str(data["u"]))
        pk = int(data["o"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if (today or timezone.localdate()) > until:
        return None
    return ControlOrder.objects.select_related("person", "jurisdiction").filter(pk=pk).first()


# Recording ----------------------------------------------------------------------------


def check_record(
    *,
    order: ControlOrder,
    temperature: object,
    symptoms: Sequence[str] = (),
    note: str = "",
    client_id: uuid.UUID,
    actor: User | None,
    by_self: bool = False,
    now: datetime | None = None,
) -> tuple[HealthCheck, bool]:
    """Record one check; returns (check, created). The same client id again returns the
    check it made (a phone retrying its submit), also when the two sends arrive at the
    same moment on two connections (the unique client id decides; the loser reads the
    winner's check). A check for someone not under an active order (released,
    superseded, not begun) is refused and changes nothing."""
    kwargs: dict[str, Any] = {
        "order": order,
        "temperature": temperature,
        "symptoms": symptoms,
        "note": note,
        "client_id": client_id,
        "actor": actor,
        "by_self": by_self,
        "now": now or timezone.now(),
    }
    try:
        with transaction.atomic():
            return _record(**kwargs)
    except IntegrityError:
        same = HealthCheck.objects.filter(client_id=client_id).first()
        if same is None:
            raise
        if same.order_id != order.pk:
            raise ValidationError(_("This check was already sent for someone else.")) from None
        return same, False


def _record(
    *,
    order: ControlOrder,
    temperature: object,
    symptoms: Sequence[str],
    note: str,
    client_id: uuid.UUID,
    actor: User | None,
    by_self: bool,
    now: datetime,
) -> tuple[HealthCheck, bool]:
    existing = HealthCheck.objects.filter(client_id=client_id).first()
    if existing is not None:
        if existing.order_id != order.pk:
            raise ValidationError(_("This check was already sent for someone else."))
        return existing, False
    if not by_self and (
        actor is None or not has_perm(actor, Perm.CONTROL_MANAGE, order.jurisdiction.path)
    ):
        raise PermissionDenied
    locked = (
        ControlOrder.objects.select_for_update()
        .select_related("jurisdiction", "person")
        .get(pk=order.pk)
    )
    if locked.status != OrderStatus.ACTIVE:
        raise ValidationError(
            _("%(person)s is not under control now (%(status)s): no check is recorded.")
            % {"person": locked.person.name, "status": OrderStatus(locked.status).label}
        )
    value = parse_temperature(temperature)
    unknown = [s for s in symptoms if s not in SYMPTOMS]
    if unknown:
        raise ValidationError({"symptoms": _("Unknown symptom.")})
    if len(note) > 200:
        raise ValidationError({"note": _("The note is longer than 200 characters.")})
    alarm = value >= FEVER_AT or bool(symptoms)
    check = HealthCheck.objects.create(
        order=locked,
        taken_at=now,
        day=timezone.localtime(now).date(),
        temperature=value,
        symptoms=sorted(set(symptoms)),
        note=note.strip(),
        alarm=alarm,
        by_self=by_self,
        recorded_by=actor,
        client_id=client_id,
    )
    ControlEvent.objects.create(
        order=locked,
        actor=actor,
        action="check",
        note=f"{value} °C",
        data={"check": check.pk, "alarm": alarm, "self": by_self},
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        actor_name="" if actor else "self-check link",
        obj=check,
        object_repr=f"health check of control order {locked.pk}",
        jurisdiction_path=locked.jurisdiction.path,
        detail={"alarm": alarm, "self": by_self},
    )
    if alarm:
        _alert(locked, check, now)
    return check, True


def town_of(node: Jurisdiction) -> Jurisdiction:
    """The town above (or at) a node; the node itself above town level."""
    town = (
        Jurisdiction.objects.filter(level=Level.TOWN, path__in=ancestor_paths(node.path))
        .order_by("-path")
        .first()
    )
    return town or node


def medical_group(node: Jurisdiction) -> list[int]:
    """Users of the town's medical group: the medical staff listed in the town, and those
    holding the medical group's role at the town, below it or above it (a county's)."""
    town = town_of(node)
    staff = StaffProfile.objects.filter(
        kind=StaffKind.MEDICAL,
        jurisdiction__path__startswith=town.path,
        user__is_active=True,
    ).values_list("user_id", flat=True)
    members = Membership.objects.filter(
        Q(jurisdiction__path__startswith=town.path)
        | Q(jurisdiction__path__in=ancestor_paths(town.path)),
        role=Role.MEDICAL_GROUP,
        user__is_active=True,
    ).values_list("user_id", flat=True)
    return sorted(set(staff) | set(members))


def _alert(order: ControlOrder, check: HealthCheck, now: datetime) -> None:
    from fangkong.notify.services import deliver, notice_send, routes
    from fangkong.workorders.services import Subject, orders_create

    person = order.person
    what = ", ".join([f"{check.temperature} °C", *(str(SYMPTOMS[s]) for s in check.symptoms)])
    title = _("Fever or symptoms: %(person)s (%(node)s)") % {
        "person": person.name,
        "node": order.jurisdiction.name,
    }
    body = _("%(what)s at %(time)s, day %(day)d of %(type)s. Urgent visit opened.") % {
        "what": what,
        "time": timezone.localtime(check.taken_at).strftime("%H:%M"),
        "day": order.day_number(check.day),
        "type": order.get_type_display(),
    }
    users = set(medical_group(order.jurisdiction))
    if order.doctor is not None:
        users.add(order.doctor.user_id)
    notice_send(user_ids=users, title=title, body=body, key=f"control-alarm:{check.pk}")
    deliver(
        channels=routes(ALERT_EVENT, order.jurisdiction.path),
        title=title,
        body=body,
        event=ALERT_EVENT,
        key=f"control-alarm:{check.pk}",
        now=now,
    )
    orders_create(
        kind=FEVER_KIND,
        subjects=[Subject.of(order, label=person.name)],
        actor=None,
        strategy=Strategy.GRID,
        role=Role.GRID_WORKER,
        due_at=now + timedelta(hours=1),
        priority=Priority.URGENT,
        source="control",
        title=title,
        note=body,
        now=now,
    )


# Missed checks --------------------------------------------------------------------------


def missed_checks(now: datetime | None = None) -> list[WorkOrder]:
    """The evening round: each active order with fewer checks today than it asks gets a
    visit by the grid worker (one open visit per order: a second evening adds none)."""
    from fangkong.workorders.services import Subject, orders_create

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    short = list(
        ControlOrder.objects.filter(status=OrderStatus.ACTIVE, starts_on__lte=today)
        .annotate(done=Count("checks", filter=Q(checks__day=today)))
        .filter(done__lt=F("checks_per_day"))
        .select_related("person", "jurisdiction")
        .order_by("id")
    )
    if not short:
        return []
    return orders_create(
        kind=MISSED_CHECK_KIND,
        subjects=[Subject.of(o, label=o.person.name) for o in short],
        actor=None,
        strategy=Strategy.GRID,
        role=Role.GRID_WORKER,
        due_at=now + timedelta(hours=2),
        priority=Priority.HIGH,
        source="control",
        title=_("Today's health checks were not all reported: visit and check"),
        now=now,
    )
