"""Jurisdictions, staff, memberships and teams."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.fields import EncryptedTextField
from fangkong.core.masking import mask_id_number, mask_phone
from fangkong.org.roles import Role
from fangkong.org.scoping import ScopedQuerySet

PATH_SEP = "/"


class Level(models.IntegerChoices):
    COUNTY = 1, _("County")
    TOWN = 2, _("Town / street")
    VILLAGE = 3, _("Village / community")
    GRID = 4, _("Grid")
    MICROGRID = 5, _("Micro-grid")


# The party organisation that stands beside each administrative level.
PARTY_ORG_SUFFIX: dict[int, str] = {
    Level.COUNTY: "县委",
    Level.TOWN: "镇党委",
    Level.VILLAGE: "党组织",
    Level.GRID: "网格党支部",
    Level.MICROGRID: "微网格党小组",
}


class Jurisdiction(models.Model):
    """A node of the jurisdiction tree.

    `path` is the materialised path of ancestor codes ("/433122000000/433122102000/");
    a subtree is a prefix match, served by an index on both databases.
    """

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, unique=True)
    party_org_name = models.CharField(_("party organisation"), max_length=100, blank=True)
    boundary = models.JSONField(_("boundary (GeoJSON)"), null=True, blank=True)
    # Denormalised roll-ups: leaves are counted from the registry, parents sum children.
    household_count = models.PositiveIntegerField(_("households"), default=0)
    resident_count = models.PositiveIntegerField(_("residents"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_path = "path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name = _("jurisdiction")
        verbose_name_plural = _("jurisdictions")

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count(PATH_SEP) - 1

    def ancestor_codes(self) -> list[str]:
        return [c for c in self.path.split(PATH_SEP) if c]


class StaffKind(models.TextChoices):
    TOWN_CADRE = "town_cadre", _("Town cadre")
    VILLAGE_CADRE = "village_cadre", _("Village cadre")
    GRID_LEADER = "grid_leader", _("Grid leader")
    GRID_WORKER = "grid_worker", _("Grid worker")
    MICROGRID_LEADER = "microgrid_leader", _("Micro-grid leader")
    VOLUNTEER = "volunteer", _("Volunteer")
    MEDICAL = "medical", _("Medical staff")
    POLICE = "police", _("Police")
    MILITIA = "militia", _("Militia")
    TEACHER = "teacher", _("Teacher")
    OTHER = "other", _("Other")


CADRE_KINDS = frozenset(
    {StaffKind.TOWN_CADRE, StaffKind.VILLAGE_CADRE, StaffKind.GRID_LEADER, StaffKind.GRID_WORKER}
)


class StaffProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff"
    )
    name = models.CharField(_("name"), max_length=50)
    phone = EncryptedTextField(_("phone"), blank=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Staff passes and duty rosters need the ID number; it is encrypted like a resident's.
    id_number = EncryptedTextField(_("ID number"), blank=True)
    id_number_hash = models.CharField(max_length=64, blank=True, db_index=True)
    unit = models.CharField(_("unit"), max_length=100, blank=True)
    is_party_member = models.BooleanField(_("party member"), default=False)
    kind = models.CharField(_("kind"), max_length=20, choices=StaffKind.choices)
    # The node the person belongs to (where they are listed); what they may see comes
    # from their memberships, not from this.
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="staff", verbose_name=_("unit node")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["jurisdiction__path", "name"]
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        return self.name

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)


class Responsibility(models.TextChoices):
    AREA = "area", _("包片 — responsible for an area")
    VILLAGE = "village", _("包村 — responsible for a village")
    GRID = "grid", _("包网格 — responsible for a grid")
    POST = "post", _("包点位 — responsible for a post")


class Membership(models.Model):
    """(user, node, role): the role applies to the node's whole subtree."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    responsibility = models.CharField(
        _("responsible for"), max_length=10, choices=Responsibility.choices, blank=True
    )
    post = models.CharField(_("post"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "jurisdiction", "role"], name="membership_unique_role_at_node"
            )
        ]
        ordering = ["jurisdiction__path", "role"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.jurisdiction.code} ({self.role})"

    @property
    def is_responsible(self) -> bool:
        return bool(self.responsibility)


class TeamKind(models.TextChoices):
    WORK_GROUP = "work_group", _("Work group (专班)")
    COMMAND_OFFICE = "command_office", _("Command office")
    SHOCK_TEAM = "shock_team", _("Shock team (突击队)")
    VOLUNTEER_TEAM = "volunteer_team", _("Volunteer team")
    ECHELON = "echelon", _("Volunteer echelon (梯队)")
    SERVICE_TEAM = "service_team", _("Service team")
    GRID_UNIT = "grid_unit", _("1+1+2 grid unit")
    PARTY_BRANCH = "party_branch", _("Temporary party branch")


class TeamTemplate(models.Model):
    """A required composition, as data: a list of slots with counts and requirements.

    `composition` is a list of {"slot": str, "label": str, "count": int,
    "kinds": [StaffKind...] (optional), "party_member": bool (optional)}.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("team kind"), max_length=20, choices=TeamKind.choices)
    composition = models.JSONField(_("composition"), default=list)

    class Meta:
        ordering = ["code"]
        verbose_name = _("team template")
        verbose_name_plural = _("team templates")

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=TeamKind.choices)
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="teams", verbose_name=_("home node")
    )
    duty = models.TextField(_("duty"), blank=True)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
        verbose_name=_("leader"),
    )
    template = models.ForeignKey(
        TeamTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="teams"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="subteams"
    )
    echelon = models.PositiveSmallIntegerField(_("echelon"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["jurisdiction__path", "kind", "name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    slot = models.CharField(_("slot"), max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="teammember_unique_user")
        ]
        ordering = ["team", "slot", "id"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


def model_label(obj: Any) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


class ApiClient(models.Model):
    """A machine client's API key, issued at one node with a set of permissions.

    The key acts through its own user row (`principal`): services record who did what by
    user, so a client's writes and audit records name it like a person's would; the row
    has no password and no membership, and its grant comes from the key alone (see
    org.clients). Only a keyed hash of the secret is kept; the prefix finds the row.
    """

    name = models.CharField(_("name"), max_length=100)
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="api_clients"
    )
    perms = models.JSONField(_("permissions"), default=list)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    principal = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_client"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"


class ApiRateWindow(models.Model):
    """Calls of one client in one fixed window: a row per (client, window) works the
    same on SQLite and PostgreSQL and across worker processes, unlike a local cache."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    window_start = models.DateTimeField()
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "window_start"], name="apiratewindow_unique_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.client_id} @ {self.window_start:%H:%M}: {self.calls}"


class IdempotencyRecord(models.Model):
    """One write sent with an `Idempotency-Key`: claimed before the operation runs
    (`status` null while in flight), then holding the response to replay."""

    principal = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.principal_id}: {self.key[:40]} ({self.status or 'in flight'})"
