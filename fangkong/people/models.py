"""Households and persons: the population baseline every later list is measured against."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.core.fields import EncryptedTextField
from fangkong.core.masking import MaskedIdentity, mask_name, mask_phone
from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import ScopedQuerySet


class HousingType(models.TextChoices):
    OWNED = "owned", _("Self-owned")
    RENTED = "rented", _("Rented")
    DORMITORY = "dormitory", _("Collective dormitory")
    OTHER = "other", _("Other")


class Household(models.Model):
    """A household at a leaf of the tree (a micro-grid, or a grid without micro-grids)."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="households", verbose_name=_("grid")
    )
    village_group = models.CharField(_("villager group"), max_length=30, blank=True)
    street = models.CharField(_("street / road"), max_length=60, blank=True)
    house_number = models.CharField(_("number"), max_length=20, blank=True)
    building = models.CharField(_("building"), max_length=20, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    room = models.CharField(_("room"), max_length=20, blank=True)
    # The whole address as one normalised line, for display, search and matching.
    address = models.CharField(_("address"), max_length=200, db_index=True)
    housing_type = models.CharField(
        _("housing"), max_length=12, choices=HousingType.choices, default=HousingType.OWNED
    )
    head = models.ForeignKey(
        "Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("head of household"),
    )
    landlord_name = models.CharField(_("landlord"), max_length=50, blank=True)
    landlord_phone = EncryptedTextField(_("landlord phone"), blank=True)
    landlord_phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["jurisdiction__path", "address"]
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.address

    @property
    def landlord_phone_masked(self) -> str:
        return mask_phone(self.landlord_phone)


class IdType(models.TextChoices):
    RESIDENT_ID = "ric", _("Resident ID card")
    HMT_PERMIT = "hmt", _("HK/Macao/Taiwan permit")
    PASSPORT = "passport", _("Passport")
    NONE = "none", _("None")


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class Relationship(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    GRANDCHILD = "grandchild", _("Grandchild")
    GRANDPARENT = "grandparent", _("Grandparent")
    SIBLING = "sibling", _("Sibling")
    CHILD_IN_LAW = "child_in_law", _("Son/daughter-in-law")
    OTHER_RELATIVE = "relative", _("Other relative")
    TENANT = "tenant", _("Tenant")
    OTHER = "other", _("Other")


class Residency(models.TextChoices):
    HUJI = "huji", _("Registered (户籍)")
    CHANGZHU = "changzhu", _("Resident, registered elsewhere (常住)")
    LIUDONG = "liudong", _("Floating / temporary (流动/暂住)")


class PersonStatus(models.TextChoices):
    PRESENT = "present", _("Present")
    AWAY = "away", _("Away")
    MOVED_OUT = "moved_out", _("Moved out")
    DECEASED = "deceased", _("Deceased")


class Person(MaskedIdentity, models.Model):
    # Denormalised from the household so scoping needs no extra join.
    # Indexed by person_grid_household (its first column), not by an index of its own.
    jurisdiction = models.ForeignKey(
        Jurisdiction,
        on_delete=models.PROTECT,
        related_name="persons",
        verbose_name=_("grid"),
        db_index=False,
    )
    household = models.ForeignKey(
        Household,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        verbose_name=_("household"),
    )
    relationship = models.CharField(
        _("relationship to head"), max_length=15, choices=Relationship.choices, blank=True
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    # Search keys: the name in simplified script without spaces, and its pinyin initials.
    name_key = models.CharField(max_length=50)
    name_initials = models.CharField(max_length=50)
    id_type = models.CharField(
        _("ID type"), max_length=10, choices=IdType.choices, default=IdType.RESIDENT_ID
    )
    id_number = EncryptedTextField(_("ID number"), blank=True)
    id_number_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # Keyed hash of the last four characters: "search by the last 4 ID digits" without
    # storing any digits of the number. Absent values are NULL, not "": a million equal
    # empty strings make SQLite's planner think the index useless for every lookup.
    id_last4_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    no_id_reason = models.CharField(_("reason for no ID"), max_length=100, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True, db_index=True)
    phone = EncryptedTextField(_("phone"), blank=True)
    phone_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    phone2 = EncryptedTextField(_("second phone"), blank=True)
    phone2_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    residency = models.CharField(
        _("residency"), max_length=10, choices=Residency.choices, default=Residency.HUJI
    )
    arrival_date = models.DateField(_("arrived on"), null=True, blank=True)
    occupation = models.CharField(_("occupation"), max_length=60, blank=True)
    workplace = models.CharField(_("workplace"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=PersonStatus.choices, default=PersonStatus.PRESENT
    )
    away_since = models.DateField(_("away since"), null=True, blank=True)
    away_where = models.CharField(_("away where"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["jurisdiction_id", "household_id", "id"]
        # Lists go grid by grid and household by household; this index serves that order
        # (and a grid's members) without sorting a town's population for one page.
        # Every index is paid for by each imported row (ADR 0015): one per lookup, no
        # more. `db_index=True` on a CharField gives PostgreSQL two (a plain one and a
        # varchar_pattern_ops copy for LIKE); the keyed hashes are only compared with =,
        # so they get the plain one; the name keys are compared with = / IN and by
        # prefix (search), which the pattern index alone serves (its operator family
        # has =). SQLite ignores the operator class: a plain index there, which its
        # range form of the prefix uses.
        indexes = [
            models.Index(fields=["jurisdiction", "household", "id"], name="person_grid_household"),
            models.Index(
                fields=["name_key"], name="person_name_key", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(
                fields=["name_initials"],
                name="person_name_initials",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["id_number_hash"], name="person_id_number_hash"),
            models.Index(fields=["id_last4_hash"], name="person_id_last4_hash"),
            models.Index(fields=["phone_hash"], name="person_phone_hash"),
            models.Index(fields=["phone2_hash"], name="person_phone2_hash"),
        ]
        verbose_name = _("person")
        verbose_name_plural = _("persons")

    def __str__(self) -> str:
        return mask_name(self.name)


class Tag(models.TextChoices):
    """Special groups and key occupations that are recorded, not derived.

    60+, 80+ and infants come from the birth date; these cannot.
    """

    MOBILITY_IMPAIRED = "mobility", _("Mobility-impaired")
    VISUALLY_IMPAIRED = "visual", _("Visually impaired")
    CHRONIC = "chronic", _("Chronic illness")
    DIALYSIS = "dialysis", _("Dialysis")
    PREGNANT = "pregnant", _("Pregnant")
    LIVING_ALONE = "alone", _("Living alone")
    LOGISTICS_DIRECT = "logistics_direct", _("Logistics, direct contact with goods")
    LOGISTICS_INDIRECT = "logistics_indirect", _("Logistics, indirect contact")
    MEDICAL = "medical", _("Medical staff")
    COLD_CHAIN = "cold_chain", _("Cold chain")
    TRANSPORT = "transport", _("Transport / drivers")
    PORT = "port", _("Port / customs")


KEY_OCCUPATION_TAGS = frozenset(
    {
        Tag.LOGISTICS_DIRECT,
        Tag.LOGISTICS_INDIRECT,
        Tag.MEDICAL,
        Tag.COLD_CHAIN,
        Tag.TRANSPORT,
        Tag.PORT,
    }
)


class PersonTag(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="tags")
    tag = models.CharField(max_length=20, choices=Tag.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "tag"], name="persontag_unique")]
        indexes = [models.Index(fields=["tag", "person"], name="persontag_tag_person")]

    def __str__(self) -> str:
        return self.tag


class PersonChange(models.Model):
    """One change to a person: who, when, from where, and old -> new per field.

    Personal-data fields are recorded masked, so the history is not a second copy.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=100)
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.person_id} {self.source}"


class ImportMapping(models.Model):
    """How one source's headers map to fields, saved when a user maps unknown headers.

    Towns receive the same sheet layout from the same office every week; remembering the
    mapping per source means the user maps a column once, not at every upload.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The import it serves (ImportJob.kind): a registry's columns and a pushed list's
    # from the same office are different sheets.
    kind = models.CharField(max_length=20, default="people")
    source = models.CharField(_("source"), max_length=100)
    # {header as written in the file: field name}; "" marks a column to ignore.
    columns = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "kind", "source"], name="importmapping_owner_kind_source"
            )
        ]

    def __str__(self) -> str:
        return self.source


class ImportStatus(models.TextChoices):
    PREVIEW = "preview", _("Checked, waiting for confirmation")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """One spreadsheet import, from its preview to its result.

    The commit runs outside the request, as a task of the jobs worker, and reports its
    progress here, which the page polls. `kind` says which import it is ("people": the
    registry; "pushed": a list pushed from above); each registers how it runs
    (`import_jobs.register_kind`).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, default="people")
    upload = models.ForeignKey(
        "core.Upload", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255)
    source = models.CharField(max_length=100, blank=True)
    # The default grid for rows without one (a jurisdiction code), if the user gave it.
    default_code = models.CharField(max_length=40, blank=True)
    valid_only = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.PREVIEW
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    # Planned counts at preview time, actual counts after the commit.
    counts = models.JSONField(default=dict)
    # The error report, values masked: [{"row", "column", "value", "message"}], capped.
    errors = models.JSONField(default=list)
    error_count = models.PositiveIntegerField(default=0)
    # What is unusual but imported (same shape as the errors), capped like them.
    warnings = models.JSONField(default=list)
    # Rows whose best match needs a person's decision, and the decisions taken.
    confirmations = models.JSONField(default=list)
    decisions = models.JSONField(default=dict)
    mapping = models.JSONField(default=dict)
    # What the kind needs besides the file, as plain values (a pushed list: its name,
    # category, deadline and receiving node).
    options = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)
