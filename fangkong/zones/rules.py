"""When a zone lifts (domain-rules R1.6, R1.7), each condition from the zone's kind, met
or not, in words: the days with no new positive, the negative testing round (read from
the testing app), and for a prevention / low-risk area that no stricter zone of the
county remains. A lift refused names what is missing; a kind that steps down (high →
medium → low) becomes the next kind instead of ending. And what a positive case sets
going here (control's hook)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.control.hooks import PositiveCase
from fangkong.control.selectors import held_elsewhere
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm, subtree_q
from fangkong.testing.selectors import round_outcomes
from fangkong.zones import selectors
from fangkong.zones.models import Zone, ZoneStatus
from fangkong.zones.services import (
    audit,
    event,
    kind_step,
    locked,
    measures_apply,
    release_measures,
    zone_positive,
)


@dataclass(frozen=True)
class Condition:
    key: str  # quiet | round | stricter
    label: str
    met: bool
    detail: str


def lift_conditions(zone: Zone, today: date | None = None) -> list[Condition]:
    today = today or timezone.localdate()
    out: list[Condition] = []
    since = max(zone.period_from, zone.last_positive_on or zone.period_from)
    quiet = (today - since).days
    if zone.quiet_days:
        ready = since + timedelta(days=zone.quiet_days)
        out.append(
            Condition(
                "quiet",
                _("%(days)d days with no new positive") % {"days": zone.quiet_days},
                quiet >= zone.quiet_days,
                _("%(quiet)d days since %(since)s; met on %(ready)s.")
                % {
                    "quiet": max(quiet, 0),
                    "since": date_format(since, "DATE_FORMAT"),
                    "ready": date_format(ready, "DATE_FORMAT"),
                },
            )
        )
    if zone.round_within_days:
        out.append(_round_condition(zone, today))
    if zone.kind.after_stricter:
        county = selectors.county_of(zone.jurisdiction)
        stricter = (
            Zone.objects.filter(subtree_q("jurisdiction__path", county.path))
            .filter(status=ZoneStatus.ACTIVE, kind__rank__gt=zone.kind.rank)
            .count()
        )
        out.append(
            Condition(
                "stricter",
                _("No stricter zone left in %(county)s") % {"county": county.name},
                stricter == 0,
                _("%(n)d stricter zones still in force.") % {"n": stricter},
            )
        )
    return out


def _round_condition(zone: Zone, today: date) -> Condition:
    since = today - timedelta(days=zone.round_within_days)
    people = list(selectors.residents(zone).values_list("pk", flat=True))
    # A case in hospital or a contact at a site is tested there, not in the zone's round.
    away = held_elsewhere(people)
    people = [p for p in people if p not in away]
    label = _("Everyone living there negative in one round since %(since)s") % {
        "since": date_format(since, "DATE_FORMAT")
    }
    outcomes = round_outcomes(people, since, today)
    good = next((o for o in outcomes if o.all_negative), None)
    if good is not None:
        return Condition(
            "round",
            label,
            True,
            _("%(round)s: %(n)d of %(n)d negative.") % {"round": good.name, "n": good.expected},
        )
    if not outcomes:
        detail = _("No testing round since then.")
    else:
        o = outcomes[0]
        detail = _("%(round)s: %(neg)d of %(n)d negative, %(pos)d positive, %(miss)d not yet.") % {
            "round": o.name,
            "neg": o.negative,
            "n": o.expected,
            "pos": o.positive,
            "miss": o.missing,
        }
    return Condition("round", label, False, detail)


@transaction.atomic
def zone_lift(
    *, zone_id: int, actor: User, expected_version: int, today: date | None = None
) -> Zone:
    """Lift the zone when every condition is met (refused with the unmet ones): its
    residents' orders are released; a kind that steps down becomes the next kind, whose
    measure the residents get instead."""
    today = today or timezone.localdate()
    zone = locked(zone_id, expected_version)
    if not has_perm(actor, Perm.ZONES_LIFT, zone.jurisdiction.path):
        raise PermissionDenied
    if zone.status != ZoneStatus.ACTIVE:
        raise ValidationError(_("The zone is lifted already."))
    unmet = [f"{c.label}: {c.detail}" for c in lift_conditions(zone, today) if not c.met]
    if unmet:
        raise ValidationError(unmet)
    refused = release_measures(zone, actor, today)
    step = kind_step(zone, zone.kind.then_code) if zone.kind.then_code else None
    before = zone.kind
    if step is not None:
        zone.kind = step
        zone.period_from = today
        zone.quiet_days = before.then_quiet_days
        zone.round_within_days = 0
        zone.name = zone.name.replace(before.name, step.name)
    else:
        zone.status = ZoneStatus.LIFTED
        zone.lifted_on = today
        zone.lifted_by = actor
    zone.version += 1
    zone.save()
    action = "stepped" if step else "lifted"
    event(zone, actor, action, "", refused=[p for p, _r in refused])
    audit(zone, actor, AuditAction.UPDATE, action, was=before.code)
    if step is not None:
        zone.measures.all().delete()
        measures_apply(zone=zone, actor=actor, today=today)
    # People also living in another zone (a sealed building's residents stay in their
    # compound's controlled zone) now get that zone's measure.
    for other in selectors.overlapping(zone):
        measures_apply(zone=other, actor=actor, today=today)
    return zone


def positive_case(case: PositiveCase) -> None:
    """Control's hook: a case living in active zones moves their last positive, and a
    controlled zone becomes sealed."""
    if case.household_id is None:
        return
    actor = User.objects.filter(pk=case.actor_id).first() if case.actor_id else None
    for zone_id in selectors.zones_of_household(case.household_id).values_list("pk", flat=True):
        zone_positive(zone_id=zone_id, on=case.on, actor=actor)
