"""Writes of zones: made by hand (a kind, places or nodes, a start and a reason) or
delineated around a case's place by the edition's kinds (the building sealed, its
compound controlled, the village a prevention area); the residents' measures through
control's services; a controlled zone turned sealed by a positive inside it. Lifting is
in `rules.py`. Every write is audited and written to the zone's history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.control.models import OrderSource, OrderStatus
from fangkong.control.release import order_extend, order_release
from fangkong.control.selectors import held_elsewhere, orders_by_id
from fangkong.control.services import order_create
from fangkong.org.models import Jurisdiction
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.policy.models import Edition
from fangkong.zones import selectors
from fangkong.zones.models import (
    Extent,
    Place,
    PlaceKind,
    Zone,
    ZoneEvent,
    ZoneKind,
    ZoneMeasure,
    ZoneStatus,
)

# Orders run 1 to 60 days (control's bound); a zone longer than that is extended.
MAX_ORDER_DAYS = 60


def event(zone: Zone, actor: User | None, action: str, note: str = "", **data: Any) -> None:
    ZoneEvent.objects.create(zone=zone, actor=actor, action=action, note=note, data=data)


def audit(zone: Zone, actor: User | None, action: AuditAction, what: str, **detail: Any) -> None:
    audit_record(
        action=action,
        actor=actor,
        actor_name="" if actor else "system",
        obj=zone,
        object_repr=f"zone {zone.pk}: {what}",
        jurisdiction_path=zone.jurisdiction.path,
        detail={"kind": zone.kind.code, "status": zone.status, **detail},
    )


def _lowest_common(nodes: Sequence[Jurisdiction]) -> Jurisdiction:
    """The deepest node whose subtree holds all of `nodes`."""
    paths = [n.path for n in nodes]
    common = paths[0]
    for p in paths[1:]:
        while not p.startswith(common):
            common = common[: common.rstrip("/").rfind("/") + 1]
    found = Jurisdiction.objects.filter(path=common).first()
    return found or nodes[0]


@dataclass
class Measured:
    ordered: int = 0
    # People who got no order, with the reason (a stricter order already runs).
    unplaced: list[tuple[int, str]] = field(default_factory=list)


def _order_days(zone: Zone, today: date) -> int:
    since = max(zone.period_from, zone.last_positive_on or zone.period_from)
    end = since + timedelta(days=max(zone.quiet_days, 1))
    return min(max((end - today).days, 1), MAX_ORDER_DAYS)


def measures_apply(
    *, zone: Zone, actor: User, today: date | None = None, now: datetime | None = None
) -> Measured:
    """Give every resident without the zone's measure its control order (sealed: home
    isolation; controlled: stay in the area). Safe to run again: people with the
    zone's order in force are skipped, people under a milder one get the stricter."""
    now = now or timezone.now()
    today = today or timezone.localdate()
    out = Measured()
    order_type = zone.kind.order_type
    if not order_type or zone.status != ZoneStatus.ACTIVE:
        return out
    kept = {m.person_id: m for m in zone.measures.all()}
    current = orders_by_id([m.order_id for m in kept.values() if m.order_id])
    days = _order_days(zone, today)
    reason = _("Lives in %(zone)s (%(kind)s): %(measure)s") % {
        "zone": zone.name,
        "kind": zone.kind.name,
        "measure": zone.kind.measure,
    }
    people = list(selectors.residents(zone).select_related("jurisdiction", "household"))
    # A case in hospital, a contact at a site: their own orders hold them elsewhere.
    away = held_elsewhere([p.pk for p in people])
    for person in people:
        if person.pk in away:
            continue
        mine = kept.get(person.pk)
        order = current.get(mine.order_id) if mine and mine.order_id else None
        if order is not None and order.status == OrderStatus.ACTIVE and order.type == order_type:
            continue
        try:
            with transaction.atomic():
                made = order_create(
                    person=person,
                    type=order_type,
                    starts_on=today,
                    days=days,
                    actor=actor,
                    reason=reason,
                    source=OrderSource.ZONE,
                    now=now,
                )
            order_id, note = made.orders[0].pk, ""
            out.ordered += 1
        except (ValidationError, IntegrityError) as e:
            order_id, note = None, " ".join(getattr(e, "messages", [str(e)]))[:200]
            out.unplaced.append((person.pk, note))
        except PermissionDenied:
            # The actor (a case's maker, for a zone turned by the hook) does not manage
            # control where this resident lives: left to that area's staff.
            order_id, note = None, _("Not placed: no control permission there.")
            out.unplaced.append((person.pk, note))
        ZoneMeasure.objects.update_or_create(
            zone=zone, person=person, defaults={"order_id": order_id, "note": note}
        )
    event(zone, actor, "measures", "", ordered=out.ordered, unplaced=len(out.unplaced))
    return out


@transaction.atomic
def zone_create(
    *,
    actor: User,
    kind: ZoneKind,
    name: str,
    reason: str,
    places: Sequence[Place] = (),
    nodes: Sequence[Jurisdiction] = (),
    starts_on: date | None = None,
    last_positive_on: date | None = None,
    now: datetime | None = None,
) -> Zone:
    """A zone over places and/or whole nodes, from a day, for a reason; its residents
    get the kind's measure at once."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    starts_on = starts_on or today
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValidationError({"name": _("A zone's name has 1 to 100 characters.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Say why (the case or the cluster).")})
    if not places and not nodes:
        raise ValidationError({"places": _("A zone covers at least one place or area.")})
    if abs((starts_on - today).days) > 30:
        raise ValidationError({"starts_on": _("The start must be within 30 days of today.")})
    covered = [p.jurisdiction for p in places] + list(nodes)
    node = _lowest_common(covered)
    for where in covered:
        if not has_perm(actor, Perm.ZONES_MANAGE, where.path):
            raise PermissionDenied
    zone = Zone.objects.create(
        jurisdiction=node,
        kind=kind,
        name=name,
        reason=reason.strip(),
        starts_on=starts_on,
        period_from=starts_on,
        last_positive_on=last_positive_on,
        quiet_days=kind.quiet_days,
        round_within_days=kind.round_within_days,
        created_by=actor,
    )
    zone.places.set(places)
    zone.nodes.set(nodes)
    event(zone, actor, "created", zone.reason)
    audit(zone, actor, AuditAction.CREATE, "created")
    measures_apply(zone=zone, actor=actor, today=today, now=now)
    return zone


def _extent_target(place: Place, extent: str) -> Place | Jurisdiction | None:
    ids = [int(i) for i in place.path.strip("/").split("/")]
    chain = {p.kind: p for p in Place.objects.filter(pk__in=ids)}
    if extent == Extent.VILLAGE:
        return place.jurisdiction
    return chain.get(PlaceKind(extent))


@transaction.atomic
def zones_delineate(
    *,
    actor: User,
    place: Place,
    reason: str,
    edition: Edition | None = None,
    positive_on: date | None = None,
    now: datetime | None = None,
) -> list[Zone]:
    """The edition's zones around a case's place, strictest first, each over the extent
    its kind names (封控: the building; 管控: the compound; 防范: the village). A kind
    whose extent is already under an active zone of that kind is skipped, so
    delineating twice makes nothing new."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    kinds = selectors.kinds_for(place.jurisdiction, today, edition)
    if not kinds:
        raise ValidationError(_("The edition in force has no zone kinds."))
    made: list[Zone] = []
    for kind in kinds:
        target = _extent_target(place, kind.extent)
        if target is None:
            continue
        active = Zone.objects.filter(kind=kind, status=ZoneStatus.ACTIVE)
        if isinstance(target, Place):
            if active.filter(places=target).exists():
                continue
            label, places, nodes = target.name, [target], []
        else:
            if active.filter(nodes=target).exists():
                continue
            label, places, nodes = target.name, [], [target]
        made.append(
            zone_create(
                actor=actor,
                kind=kind,
                name=f"{label} {kind.name}",
                reason=reason,
                places=places,
                nodes=nodes,
                starts_on=today,
                last_positive_on=positive_on,
                now=now,
            )
        )
    return made


def locked(zone_id: int, expected_version: int | None) -> Zone:
    zone = Zone.objects.select_for_update().select_related("kind", "jurisdiction").get(pk=zone_id)
    if expected_version is not None and zone.version != expected_version:
        raise ValidationError(_("The zone changed meanwhile; reload and try again."))
    return zone


def kind_step(zone: Zone, code: str) -> ZoneKind | None:
    return ZoneKind.objects.filter(edition_id=zone.kind.edition_id, code=code).first()


def release_measures(zone: Zone, actor: User, today: date) -> list[tuple[int, str]]:
    """Release the zone's orders still in force; those control refuses, with the reason."""
    refused: list[tuple[int, str]] = []
    measures = list(zone.measures.exclude(order_id=None))
    orders = orders_by_id([m.order_id for m in measures if m.order_id])
    for m in measures:
        order = orders.get(m.order_id or 0)
        if order is None or order.status != OrderStatus.ACTIVE:
            continue
        try:
            with transaction.atomic():
                order_release(
                    order_id=order.pk, actor=actor, expected_version=order.version, today=today
                )
        except ValidationError as e:
            refused.append((m.person_id, " ".join(e.messages)))
    return refused


@transaction.atomic
def zone_positive(*, zone_id: int, on: date, actor: User | None) -> Zone:
    """A new positive inside the zone: its quiet days start again; a kind that turns
    on a positive (管控 → 封控) turns, and its residents get the stricter measure;
    otherwise the residents' orders are lengthened to the new end."""
    zone = locked(zone_id, None)
    if zone.status != ZoneStatus.ACTIVE:
        return zone
    if zone.last_positive_on is None or on > zone.last_positive_on:
        zone.last_positive_on = on
    becomes = kind_step(zone, zone.kind.on_positive) if zone.kind.on_positive else None
    if becomes is not None:
        before = zone.kind
        zone.kind = becomes
        zone.period_from = on
        zone.quiet_days = becomes.quiet_days
        zone.round_within_days = becomes.round_within_days
        zone.name = zone.name.replace(before.name, becomes.name)
    zone.version += 1
    zone.save()
    note = _("Positive on %(day)s.") % {"day": on.isoformat()}
    event(zone, actor, "positive", note, turned=becomes.code if becomes else "")
    audit(zone, actor, AuditAction.UPDATE, "positive", turned=becomes.code if becomes else "")
    if actor is None:
        return zone
    if becomes is not None:
        measures_apply(zone=zone, actor=actor)
    else:
        _lengthen(zone, actor)
    return zone


def _lengthen(zone: Zone, actor: User) -> None:
    since = max(zone.period_from, zone.last_positive_on or zone.period_from)
    end = since + timedelta(days=max(zone.quiet_days, 1) - 1)
    measures = list(zone.measures.exclude(order_id=None))
    orders = orders_by_id([m.order_id for m in measures if m.order_id])
    for order in orders.values():
        if order.status != OrderStatus.ACTIVE or order.ends_on >= end:
            continue
        try:
            with transaction.atomic():
                order_extend(
                    order_id=order.pk,
                    actor=actor,
                    expected_version=order.version,
                    days=min((end - order.ends_on).days, 30),
                    reason=_("A new positive in %(zone)s.") % {"zone": zone.name},
                )
        except (ValidationError, PermissionDenied):
            continue
