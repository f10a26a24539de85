"""Writes of rounds: the round with its scope, its sampling points and the residents
declared as not to be tested. Every write checks the actor's permission at the round's
node and leaves an audit record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.org.models import Jurisdiction
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.people.models import Person
from fangkong.testing.models import (
    POOL_SIZES,
    Exclusion,
    ExclusionReason,
    Round,
    RoundStatus,
    SamplingPoint,
)


def require(actor: User | None, perm: Perm, path: str) -> None:
    # None is the system (a rule that follows a result).
    if actor is not None and not has_perm(actor, perm, path):
        raise PermissionDenied


def audit(actor: User | None, obj: Any, path: str, what: str, **detail: Any) -> None:
    audit_record(
        action=AuditAction.CREATE if what.endswith("created") else AuditAction.UPDATE,
        actor=actor,
        actor_name="" if actor else "system",
        obj=obj,
        object_repr=f"{type(obj).__name__.lower()} {obj.pk}: {what}",
        jurisdiction_path=path,
        detail=detail,
    )


def check_pool_size(value: int) -> None:
    if value not in POOL_SIZES:
        raise ValidationError(
            {
                "pool_size": _(
                    "A pool holds 1, 5, 10 or 20 people (validated sizes); %(n)s is not one."
                )
                % {"n": value}
            }
        )


@transaction.atomic
def round_create(
    *,
    actor: User,
    jurisdiction: Jurisdiction,
    name: str,
    starts_on: date,
    ends_on: date,
    pool_size: int,
    scope: Sequence[Jurisdiction],
    min_age_years: int = 0,
    recall_hours: int = 2,
    hold_days: int = 2,
) -> Round:
    require(actor, Perm.TESTING_MANAGE, jurisdiction.path)
    check_pool_size(pool_size)
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = _("A round needs a name.")
    if ends_on < starts_on:
        errors["ends_on"] = _("The round ends before it starts.")
    elif (ends_on - starts_on).days > 13:
        errors["ends_on"] = _("A round lasts at most 14 days.")
    if not scope:
        errors["scope"] = _("Name the town or the villages the round covers.")
    outside = [n.name for n in scope if not n.path.startswith(jurisdiction.path)]
    if outside:
        errors["scope"] = _("Not under the organising node: %(names)s") % {
            "names": ", ".join(outside)
        }
    if not 1 <= recall_hours <= 48:
        errors["recall_hours"] = _("A recall is due within 1 to 48 hours.")
    if not 1 <= hold_days <= 14:
        errors["hold_days"] = _("Temporary control lasts 1 to 14 days.")
    if min_age_years > 18:
        errors["min_age_years"] = _("The age from which people are tested is at most 18.")
    if errors:
        raise ValidationError(errors)
    round_ = Round.objects.create(
        jurisdiction=jurisdiction,
        name=name.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        pool_size=pool_size,
        min_age_years=min_age_years,
        recall_hours=recall_hours,
        hold_days=hold_days,
        created_by=actor,
    )
    round_.scope.set(scope)
    from fangkong.testing.counts import counts_recount

    counts_recount(round_, timezone.localdate())
    audit(
        actor,
        round_,
        jurisdiction.path,
        "created",
        pool_size=pool_size,
        scope=[n.code for n in scope],
    )
    return round_


def round_close(*, actor: User, round_: Round) -> Round:
    require(actor, Perm.TESTING_MANAGE, round_.jurisdiction.path)
    if round_.status != RoundStatus.CLOSED:
        round_.status = RoundStatus.CLOSED
        round_.save(update_fields=["status"])
        audit(actor, round_, round_.jurisdiction.path, "closed")
    return round_


def in_scope(round_: Round, path: str) -> bool:
    return any(path.startswith(p) for p in scope_paths(round_))


def scope_paths(round_: Round) -> list[str]:
    cached = getattr(round_, "_scope_paths", None)
    if cached is None:
        cached = list(round_.scope.values_list("path", flat=True))
        round_._scope_paths = cached  # type: ignore[attr-defined]
    return cached


def point_create(
    *,
    actor: User,
    round_: Round,
    jurisdiction: Jurisdiction,
    name: str,
    opens_at: time,
    closes_at: time,
    capacity: int,
    address: str = "",
    staff: Sequence[User] = (),
) -> SamplingPoint:
    require(actor, Perm.TESTING_MANAGE, jurisdiction.path)
    errors: dict[str, str] = {}
    if not in_scope(round_, jurisdiction.path) and not round_.jurisdiction.path.startswith(
        jurisdiction.path
    ):
        errors["jurisdiction"] = _("The point must stand inside the round's scope.")
    if closes_at <= opens_at:
        errors["closes_at"] = _("The point closes before it opens.")
    if capacity < 1:
        errors["capacity"] = _("Capacity is people per hour, at least 1.")
    if not name.strip():
        errors["name"] = _("A point needs a name.")
    elif round_.points.filter(name=name.strip()).exists():
        errors["name"] = _("This round already has a point of that name.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        point = SamplingPoint.objects.create(
            round=round_,
            jurisdiction=jurisdiction,
            name=name.strip(),
            address=address.strip(),
            opens_at=opens_at,
            closes_at=closes_at,
            capacity=capacity,
        )
        point.staff.set(staff)
        audit(actor, point, jurisdiction.path, "created", round=round_.pk)
    return point


def exclusion_add(
    *,
    actor: User,
    round_: Round,
    person: Person,
    reason: str,
    until: date | None = None,
    note: str = "",
) -> Exclusion:
    """Declare a resident as not to be tested in the round (away until a date, ...)."""
    require(actor, Perm.TESTING_MANAGE, person.jurisdiction.path)
    if reason not in ExclusionReason.values:
        raise ValidationError({"reason": _("Unknown reason.")})
    if reason == ExclusionReason.AWAY and until is None:
        raise ValidationError({"until": _("Say until when the person is away.")})
    if not in_scope(round_, person.jurisdiction.path):
        raise ValidationError(_("The person lives outside the round's scope."))
    with transaction.atomic():
        exclusion, created = Exclusion.objects.get_or_create(
            round=round_,
            person=person,
            defaults={"reason": reason, "until": until, "note": note.strip(), "created_by": actor},
        )
        if created:
            _uncount(round_, person)
            audit(actor, exclusion, person.jurisdiction.path, "created", reason=reason)
    return exclusion


def _uncount(round_: Round, person: Person) -> None:
    """A newly excluded resident leaves the round's expected (and tested) counts, if they
    were in them."""
    from fangkong.testing.counts import counts_add, isolated_q, present_and_of_age
    from fangkong.testing.models import Sample

    if not present_and_of_age(round_, person.status, person.birth_date, timezone.localdate()):
        return
    if type(person).objects.filter(pk=person.pk).filter(Exists(isolated_q())).exists():
        return
    tested = Sample.objects.filter(round=round_, person=person, recall=False).exists()
    counts_add(round_.pk, {person.jurisdiction_id: [-1, -int(tested), 0, 0, 0]})
