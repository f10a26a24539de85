"""Writes of supplies: a store of a town or village; donations and purchases received
(each line a ledger entry and the balance raised with it); a package handed to a
household of a sealed zone at the door — its items taken from the store by a
conditional update that never takes the balance below zero (a package the store cannot
fill is refused naming the item, and nothing is taken), one per household per day, and
the same package sent twice by a retrying phone recorded once; the shortage threshold."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.assist.models_supplies import Item, Move, MoveKind, Package, Receipt, Stock, Store
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.api_kit import queued_time_ok
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.people.models import Household
from fangkong.zones.selectors import zones_of_household

MAX_QUANTITY = 100_000


def _require(actor: User, path: str) -> None:
    if not has_perm(actor, Perm.ASSIST_ENTER, path):
        raise PermissionDenied


def _audit(
    store: Store, actor: User | None, action: AuditAction, what: str, **detail: object
) -> None:
    audit_record(
        action=action,
        actor=actor,
        obj=store,
        object_repr=f"store {store.pk}: {what}",
        jurisdiction_path=store.jurisdiction.path,
        detail=dict(detail),
    )


@transaction.atomic
def store_create(*, actor: User, jurisdiction: Jurisdiction, name: str) -> Store:
    name = " ".join(name.split())
    if not name or len(name) > 60:
        raise ValidationError({"name": _("A store's name has 1 to 60 characters.")})
    if jurisdiction.level not in (Level.TOWN, Level.VILLAGE):
        raise ValidationError({"node": _("A store belongs to a town or a village.")})
    _require(actor, jurisdiction.path)
    if Store.objects.filter(jurisdiction=jurisdiction, name=name).exists():
        raise ValidationError({"name": _("%(name)s is registered already.") % {"name": name}})
    store = Store.objects.create(jurisdiction=jurisdiction, name=name)
    _audit(store, actor, AuditAction.CREATE, "created")
    return store


def _add(store: Store, item: Item, quantity: int) -> None:
    stock, _made = Stock.objects.get_or_create(store=store, item=item)
    Stock.objects.filter(pk=stock.pk).update(quantity=F("quantity") + quantity)


@transaction.atomic
def receive(
    *,
    actor: User,
    store: Store,
    kind: str,
    lines: Sequence[tuple[Item, int]],
    client_id: uuid.UUID,
    donor: str = "",
    note: str = "",
) -> tuple[Receipt, bool]:
    """A donation (its donor named) or a purchase, line by line; the same client id
    again returns the first receipt."""
    found = Receipt.objects.filter(client_id=client_id).first()
    if found is not None:
        if found.store_id != store.pk:
            raise ValidationError({"client_id": _("This client id belongs to another receipt.")})
        return found, False
    _require(actor, store.jurisdiction.path)
    if kind not in (MoveKind.DONATION, MoveKind.PURCHASE):
        raise ValidationError({"kind": _("A donation or a purchase.")})
    donor = " ".join(donor.split())
    if kind == MoveKind.DONATION and not donor:
        raise ValidationError({"donor": _("Name the donor.")})
    if len(donor) > 100 or len(note) > 200:
        raise ValidationError({"donor": _("The donor has at most 100 characters, the note 200.")})
    if not lines:
        raise ValidationError({"lines": _("Say what was received.")})
    seen: set[int] = set()
    for n, (item, quantity) in enumerate(lines, start=1):
        if not 1 <= quantity <= MAX_QUANTITY:
            raise ValidationError(
                {
                    "lines": _("Line %(n)d (%(item)s): a quantity from 1 to %(max)d.")
                    % {"n": n, "item": item.name, "max": MAX_QUANTITY}
                }
            )
        if item.pk in seen:
            raise ValidationError(
                {"lines": _("Line %(n)d: %(item)s twice.") % {"n": n, "item": item.name}}
            )
        seen.add(item.pk)
    receipt = Receipt.objects.create(
        store=store,
        kind=kind,
        donor=donor,
        note=note.strip(),
        client_id=client_id,
        created_by=actor,
    )
    for item, quantity in lines:
        _add(store, item, quantity)
        Move.objects.create(store=store, item=item, kind=kind, delta=quantity, receipt=receipt)
    _audit(store, actor, AuditAction.CREATE, kind, receipt=receipt.pk, lines=len(lines))
    return receipt, True


def package_items() -> list[Item]:
    return list(Item.objects.filter(per_package__gt=0))


@transaction.atomic
def package_issue(
    *,
    actor: User,
    store: Store,
    household: Household,
    client_id: uuid.UUID,
    now: datetime | None = None,
) -> tuple[Package, bool]:
    """One package to a household of a sealed (or controlled) zone, recorded at the
    door; the same client id again returns the first package."""
    now = now or timezone.now()
    day: date = timezone.localtime(now).date()
    found = Package.objects.filter(client_id=client_id).first()
    if found is not None:
        if found.household_id != household.pk:
            raise ValidationError({"client_id": _("This client id belongs to another package.")})
        return found, False
    # A store serves the households of its area; whoever serves the household (its grid
    # worker, the village's team) hands out the package.
    if not household.jurisdiction.path.startswith(store.jurisdiction.path):
        raise ValidationError({"store": _("The store does not serve this household's area.")})
    _require(actor, household.jurisdiction.path)
    if not zones_of_household(household.pk).exclude(kind__order_type="").exists():
        raise ValidationError(
            {"household": _("Packages go to households of sealed or controlled zones.")}
        )
    if Package.objects.filter(household=household, day=day).exists():
        raise ValidationError({"household": _("This household has had today's package.")})
    items = package_items()
    if not items:
        raise ValidationError(_("No item is set for a package."))
    try:
        with transaction.atomic():
            package = Package.objects.create(
                store=store,
                household=household,
                day=day,
                client_id=client_id,
                given_by=actor,
                given_at=now,
            )
            for item in items:
                taken = Stock.objects.filter(
                    store=store, item=item, quantity__gte=item.per_package
                ).update(quantity=F("quantity") - item.per_package)
                if not taken:
                    raise ValidationError(
                        {
                            "store": _("%(store)s has not enough %(item)s for a package.")
                            % {"store": store.name, "item": item.name}
                        }
                    )
                Move.objects.create(
                    store=store,
                    item=item,
                    kind=MoveKind.PACKAGE,
                    delta=-item.per_package,
                    package=package,
                )
    except IntegrityError:
        # The same package (or the household's package of the day) raced in meanwhile.
        again = Package.objects.filter(client_id=client_id).first()
        if again is not None:
            return again, False
        raise ValidationError({"household": _("This household has had today's package.")}) from None
    _audit(store, actor, AuditAction.CREATE, "package", household=household.pk)
    return package, True


@transaction.atomic
def alerts_set(*, actor: User, store: Store, thresholds: Sequence[tuple[Item, int]]) -> list[Stock]:
    """Every item's shortage threshold in one store at once: all saved, or none (the
    first bad one named)."""
    _require(actor, store.jurisdiction.path)
    for item, below in thresholds:
        if not 0 <= below <= MAX_QUANTITY:
            raise ValidationError(
                {
                    "below": _("%(item)s: from 0 to %(max)d.")
                    % {"item": item.name, "max": MAX_QUANTITY}
                }
            )
    out = [
        alert_set(actor=actor, store=store, item=item, below=below) for item, below in thresholds
    ]
    _audit(
        store,
        actor,
        AuditAction.UPDATE,
        "shortage thresholds",
        thresholds={item.code: below for item, below in thresholds},
    )
    return out


@transaction.atomic
def alert_set(*, actor: User, store: Store, item: Item, below: int) -> Stock:
    _require(actor, store.jurisdiction.path)
    if not 0 <= below <= MAX_QUANTITY:
        raise ValidationError({"below": _("From 0 to %(max)d.") % {"max": MAX_QUANTITY}})
    stock, _made = Stock.objects.get_or_create(store=store, item=item)
    stock.alert_below = below
    stock.save(update_fields=["alert_below"])
    return stock


@dataclass(frozen=True)
class PackageAnswer:
    client_id: uuid.UUID
    status: str  # "recorded" | "already" | "refused"
    error: str
    package_id: int | None


# A package recorded on a phone without a connection is sent when it has one again: at
# most this long after it was handed over, and never from the future (a phone's clock).
QUEUED_MAX_AGE = timedelta(hours=48)


def packages_sync(
    *,
    actor: User,
    store: Store,
    records: Sequence[tuple[uuid.UUID, Household | None, datetime | None]],
    now: datetime | None = None,
) -> list[PackageAnswer]:
    """Packages from a phone's offline queue (ADR 0020's contract), each answered on its
    own: recorded, already recorded (the same client id: a retry, a lost answer), or
    refused with the reason (nothing taken for it). A record names the household (None:
    not one the sender may serve) and when it was handed over (its day is the package's
    day)."""
    now = now or timezone.now()
    out: list[PackageAnswer] = []
    for client_id, household, given_at in records:
        at = given_at or now
        try:
            if household is None:
                raise ValidationError(_("Not found in your area."))
            found = Package.objects.filter(client_id=client_id, household=household).first()
            if found is not None:  # answered before, however long ago
                out.append(PackageAnswer(client_id, "already", "", found.pk))
                continue
            if not queued_time_ok(at, now=now, earliest=now - QUEUED_MAX_AGE):
                raise ValidationError(
                    _("A package is sent within %(h)d hours of handing it over.")
                    % {"h": int(QUEUED_MAX_AGE.total_seconds() // 3600)}
                )
            package, created = package_issue(
                actor=actor,
                store=store,
                household=household,
                client_id=client_id,
                now=min(at, now),
            )
        except ValidationError as e:
            out.append(PackageAnswer(client_id, "refused", " ".join(e.messages), None))
        except PermissionDenied:
            out.append(PackageAnswer(client_id, "refused", _("Not yours to record."), None))
        else:
            out.append(
                PackageAnswer(client_id, "recorded" if created else "already", "", package.pk)
            )
    return out
