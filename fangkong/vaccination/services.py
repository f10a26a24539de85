"""Writes of vaccination: doses entered by staff or imported from the vaccination
system's export (validated as a whole, all or nothing, row-numbered errors; a re-import
finds its doses there and changes nothing), contraindications, and the work orders that
mobilise the unvaccinated 60+ and take them to the vaccination site."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.crypto import blind_index
from fangkong.core.identity import normalise_id_number
from fangkong.core.masking import mask_name
from fangkong.core.tabular import Table, TableError, map_headers
from fangkong.core.uploads import Refused, UploadKind
from fangkong.org.models import Jurisdiction
from fangkong.org.roles import Perm, Role
from fangkong.org.scoping import has_perm
from fangkong.people.import_columns import FIELD_ALIASES
from fangkong.people.models import Person
from fangkong.people.validation import explain_id_damage, parse_date
from fangkong.vaccination.kinds import TRANSPORT_KIND, VISIT_KIND
from fangkong.vaccination.models import MAX_DOSE, Contraindication, Dose, Source
from fangkong.vaccination.selectors import mobilisation
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import WorkOrder
from fangkong.workorders.services import Subject, orders_create

DOSES_UPLOAD = UploadKind("vaccination.doses")
COLUMNS: dict[str, tuple[str, ...]] = {
    "id_number": FIELD_ALIASES["id_number"],
    "number": ("剂次", "接种剂次", "针次", "第几剂", "dose"),
    "given_on": ("接种日期", "接种时间", "日期", "date"),
    "product": ("疫苗名称", "疫苗", "疫苗品种", "生产企业", "疫苗厂家", "product"),
}
PRODUCT_MAX = 60
MAX_MOBILISE = 5000
MAX_ROWS = 200_000


def _check(actor: User, person: Person) -> None:
    if not has_perm(actor, Perm.VACCINATION_MANAGE, person.jurisdiction.path):
        raise PermissionDenied


def _number(text: str) -> int:
    digits = text.strip().removeprefix("第").removesuffix("剂").removesuffix("针").strip()
    words = {"一": 1, "二": 2, "三": 3, "四": 4}
    value = words.get(digits) or (int(digits) if digits.isdigit() and len(digits) < 3 else 0)
    if not 1 <= value <= MAX_DOSE:
        raise ValidationError(_("A dose is 1 to %(n)d, not “%(v)s”.") % {"n": MAX_DOSE, "v": text})
    return value


def _product(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise ValidationError(_("Name the vaccine product."))
    if len(text) > PRODUCT_MAX:
        raise ValidationError(_("At most 60 characters."))
    return text


# Staff entry -------------------------------------------------------------------------


@transaction.atomic
def dose_record(*, person: Person, number: int, given_on: date, product: str, actor: User) -> Dose:
    """A dose entered by staff. The same dose again returns the one recorded; a
    different date or product for a recorded dose number is refused by field."""
    _check(actor, person)
    if not 1 <= number <= MAX_DOSE:
        raise ValidationError({"number": _("A dose is 1 to %(n)d.") % {"n": MAX_DOSE}})
    if given_on > timezone.localdate():
        raise ValidationError({"given_on": _("The date is in the future.")})
    try:
        product = _product(product)
    except ValidationError as exc:
        raise ValidationError({"product": exc.messages}) from None
    found = Dose.objects.select_for_update().filter(person=person, number=number).first()
    if found is not None:
        if found.given_on == given_on and found.product == product:
            return found
        raise ValidationError(
            {
                "number": _("Dose %(n)d is already recorded on %(day)s.")
                % {"n": number, "day": found.given_on}
            }
        )
    dose = Dose.objects.create(
        person=person,
        jurisdiction_id=person.jurisdiction_id,
        number=number,
        given_on=given_on,
        product=product,
        source=Source.STAFF,
        created_by=actor,
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=dose,
        object_repr=f"dose {dose.pk}: {mask_name(person.name)} #{number}",
        jurisdiction_path=person.jurisdiction.path,
    )
    return dose


@transaction.atomic
def contraindication_set(
    *, person: Person, reason: str, actor: User, noted_on: date | None = None
) -> Contraindication:
    """Record (or change) why a resident is not to be vaccinated: they leave the
    mobilisation list."""
    _check(actor, person)
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": _("Give the doctor's reason.")})
    if len(reason) > 200:
        raise ValidationError({"reason": _("At most 200 characters.")})
    found, created = Contraindication.objects.update_or_create(
        person=person,
        defaults={
            "jurisdiction_id": person.jurisdiction_id,
            "reason": reason,
            "noted_on": noted_on or timezone.localdate(),
            "created_by": actor,
        },
    )
    audit_record(
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        actor=actor,
        obj=found,
        object_repr=f"contraindication {found.pk}: {mask_name(person.name)}",
        jurisdiction_path=person.jurisdiction.path,
    )
    return found


# Import ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    error: str

    @property
    def label(self) -> str:
        return str(FIELD_LABELS[self.field])


@dataclass(frozen=True)
class DoseRow:
    row: int
    person_id: int
    node_id: int
    number: int
    given_on: date
    product: str


@dataclass
class Plan:
    rows: int = 0
    new: list[DoseRow] = field(default_factory=list)
    changed: list[tuple[int, DoseRow]] = field(default_factory=list)  # (dose id, row)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


FIELD_LABELS = {
    "id_number": gettext_lazy("ID number"),
    "number": gettext_lazy("Dose"),
    "given_on": gettext_lazy("Date"),
    "product": gettext_lazy("Product"),
}


def rows_of(table: Table) -> list[tuple[int, dict[str, str]]]:
    """The table's rows by field; a file without one of the columns is refused whole."""
    found = map_headers(table.headers, COLUMNS)
    missing = [name for name in COLUMNS if name not in found]
    if missing:
        raise TableError(
            _("The file has no column for: %(names)s (headers: %(headers)s).")
            % {
                "names": ", ".join(str(FIELD_LABELS[m]) for m in missing),
                "headers": ", ".join(h for h in table.headers if h)[:200],
            }
        )
    out = []
    for number, cells in table.rows:
        if not any(c.strip() for c in cells):
            continue
        out.append(
            (
                number,
                {k: cells[i].strip() if i < len(cells) else "" for k, i in found.items()},
            )
        )
    return out


def plan_rows(rows: list[tuple[int, dict[str, str]]], *, actor: User, today: date) -> Plan:
    """Check every row (a handful of queries for the whole file): each error names its
    row, its field and why. The registry is searched by the ID number's keyed hash, in
    the actor's area only (someone elsewhere is as unknown as nobody)."""
    if len(rows) > MAX_ROWS:
        raise TableError(_("At most %(n)d rows at a time.") % {"n": MAX_ROWS})
    plan = Plan(rows=len(rows))
    hashes = {}
    for row, cells in rows:
        number = normalise_id_number(cells.get("id_number", ""))
        if number:
            hashes[row] = blind_index(number)
    people: dict[str, tuple[int, int] | None] = {}
    area = Person.objects.visible_to(actor, Perm.VACCINATION_MANAGE)
    for pk, node, hashed in area.filter(id_number_hash__in=set(hashes.values())).values_list(
        "pk", "jurisdiction_id", "id_number_hash"
    ):
        # Two registry rows with one ID number: ambiguous, never guessed.
        if hashed is not None:
            people[hashed] = None if hashed in people else (pk, node)
    ids = {p[0] for p in people.values() if p}
    recorded = {(d.person_id, d.number): d for d in Dose.objects.filter(person_id__in=sorted(ids))}
    seen: dict[tuple[int, int], DoseRow] = {}
    for row, cells in rows:
        errors: list[RowError] = []
        raw = cells.get("id_number", "")
        who = people.get(hashes.get(row, ""), ()) if row in hashes else ()
        if not raw:
            errors.append(RowError(row, "id_number", _("The ID number is empty.")))
        elif who is None:
            errors.append(
                RowError(row, "id_number", _("Two registry entries hold this ID number."))
            )
        elif not who:
            damage = explain_id_damage(raw)
            errors.append(
                RowError(
                    row,
                    "id_number",
                    damage or _("No resident with this ID number in your area's registry."),
                )
            )
        values: dict[str, Any] = {}
        for name, parse in (
            ("number", _number),
            ("given_on", lambda t: _day(t, today)),
            ("product", _product),
        ):
            try:
                values[name] = parse(cells.get(name, ""))
            except ValidationError as exc:
                errors.append(RowError(row, name, " ".join(exc.messages)))
        if errors or not who:
            plan.errors.extend(errors)
            continue
        person_id, node_id = who
        dose = DoseRow(
            row, person_id, node_id, values["number"], values["given_on"], values["product"]
        )
        key = (person_id, dose.number)
        earlier = seen.get(key)
        if earlier is not None:
            if (earlier.given_on, earlier.product) != (dose.given_on, dose.product):
                plan.errors.append(
                    RowError(
                        row,
                        "number",
                        _("Row %(row)d gives this person's dose %(n)d differently.")
                        % {"row": earlier.row, "n": dose.number},
                    )
                )
            continue
        seen[key] = dose
        found = recorded.get(key)
        if found is None:
            plan.new.append(dose)
        elif (found.given_on, found.product) == (dose.given_on, dose.product):
            plan.unchanged += 1
        else:
            # The vaccination system is the record: its correction replaces ours.
            plan.changed.append((found.pk, dose))
    return plan


def _day(text: str, today: date) -> date:
    if not text:
        raise ValidationError(_("The date is empty."))
    day = parse_date(text.split(" ")[0] if " " in text and ":" in text else text, today=today)
    if day is None:
        raise ValidationError(_("The date is empty."))
    return day


@transaction.atomic
def doses_import(
    *,
    rows: list[tuple[int, dict[str, str]]],
    actor: User,
    filename: str = "",
    sha256: str = "",
    today: date | None = None,
) -> Plan:
    """Write a checked file: all its rows or, with any error, nothing (`Refused` with the
    plan, whose errors the page lists). Doses already recorded alike are left alone."""
    if not has_perm(actor, Perm.VACCINATION_MANAGE):
        raise PermissionDenied
    plan = plan_rows(rows, actor=actor, today=today or timezone.localdate())
    if plan.errors:
        raise Refused(plan)
    Dose.objects.bulk_create(
        [
            Dose(
                person_id=d.person_id,
                jurisdiction_id=d.node_id,
                number=d.number,
                given_on=d.given_on,
                product=d.product,
                source=Source.IMPORT,
                created_by=actor,
            )
            for d in plan.new
        ],
        batch_size=2000,
    )
    for pk, d in plan.changed:
        Dose.objects.filter(pk=pk).update(
            given_on=d.given_on, product=d.product, source=Source.IMPORT
        )
    if plan.new or plan.changed:
        audit_record(
            action=AuditAction.IMPORT,
            actor=actor,
            object_repr=f"vaccination import: {len(plan.new)} new, {len(plan.changed)} corrected",
            detail={
                "file": filename[:100],
                "sha256": sha256,
                "rows": plan.rows,
                "new": len(plan.new),
                "changed": len(plan.changed),
                "unchanged": plan.unchanged,
            },
        )
    return plan


# Work orders -------------------------------------------------------------------------


@transaction.atomic
def mobilise(*, node: Jurisdiction, actor: User, now: datetime | None = None) -> list[WorkOrder]:
    """A visit order per resident of the mobilisation list under `node`, for their grid
    workers; one open order per resident however often it is sent."""
    if not has_perm(actor, Perm.VACCINATION_MANAGE, node.path):
        raise PermissionDenied
    now = now or timezone.now()
    people = list(
        mobilisation(actor, today=timezone.localdate(now), node_path=node.path)[:MAX_MOBILISE]
    )
    orders = orders_create(
        kind=VISIT_KIND,
        subjects=[Subject.of(p, label=mask_name(p.name)) for p in people],
        actor=actor,
        strategy=Strategy.GRID,
        role=Role.GRID_WORKER,
        source="vaccination",
        title=_("Vaccination: visit and mobilise"),
        now=now,
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        object_repr=f"node {node.code}: {len(orders)} vaccination visits",
        jurisdiction_path=node.path,
        detail={"orders": len(orders)},
    )
    return orders


@transaction.atomic
def transport_arrange(
    *, person: Person, site: str, at: datetime, actor: User, now: datetime | None = None
) -> WorkOrder:
    """A ride to the vaccination site (free transport for the immobile): a work order for
    the resident's grid worker, due at the appointment; asked twice, the open one."""
    _check(actor, person)
    site = " ".join(site.split())
    if not site or len(site) > 100:
        raise ValidationError({"site": _("Name the vaccination site (at most 100 characters).")})
    now = now or timezone.now()
    if at <= now or at > now + timedelta(days=30):
        raise ValidationError({"at": _("The appointment is within the next 30 days.")})
    (order,) = orders_create(
        kind=TRANSPORT_KIND,
        subjects=[Subject.of(person, label=mask_name(person.name))],
        actor=actor,
        strategy=Strategy.GRID,
        role=Role.GRID_WORKER,
        due_at=at,
        source="vaccination",
        title=_("To the vaccination site: %(site)s") % {"site": site},
        note=site,
        now=now,
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=order,
        object_repr=f"order {order.pk}: vaccination transport",
        jurisdiction_path=person.jurisdiction.path,
    )
    return order
