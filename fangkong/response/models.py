"""Emergency response (应急处置): plans as data (预案: the groups to form and the steps with
their owners and deadlines relative to activation), their activations (live or drill)
with the groups formed, the people called and their arrival (到岗), each step's timer;
and the graded response levels (一级/二级/三级, peace time) with what each configures,
the level each node is at and the history of switches."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.org.models import Jurisdiction, TeamKind
from fangkong.org.roles import Role
from fangkong.org.scoping import ScopedQuerySet


class Plan(models.Model):
    """A plan. Without a node it is shipped for every town (changed from the top of the
    tree); a town copies it to adapt it."""

    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("plan name"), max_length=120)
    jurisdiction = models.ForeignKey(
        Jurisdiction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("node"),
    )
    description = models.TextField(_("description"), blank=True)
    # Everyone called assembles within this many minutes (the arrival target).
    assemble_minutes = models.PositiveIntegerField(_("assemble within (minutes)"), default=30)
    updated_at = models.DateTimeField(auto_now=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["jurisdiction__path", "name", "id"]
        verbose_name = _("emergency plan")
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "code"], name="response_plan_code"),
            models.UniqueConstraint(
                fields=["code"],
                condition=models.Q(jurisdiction__isnull=True),
                name="response_plan_shipped_code",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PlanGroup(models.Model):
    """A working group the plan forms (the 一办十一组 structure): at activation it is formed
    from the node's team of the same name (its leader and members are called)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="groups")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("group name"), max_length=60)
    duty = models.CharField(_("duty"), max_length=300, blank=True)
    team_kind = models.CharField(
        _("team kind"), max_length=20, choices=TeamKind.choices, default=TeamKind.WORK_GROUP
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["plan", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="response_group_code"),
        ]

    def __str__(self) -> str:
        return self.name


class PlanStep(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    title = models.CharField(_("title"), max_length=200)
    # The owner: one of the plan's groups, or the holders of a role at the node.
    group = models.ForeignKey(
        PlanGroup,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="steps",
        verbose_name=_("owner group"),
    )
    role = models.CharField(_("owner role"), max_length=20, choices=Role.choices, blank=True)
    minutes = models.PositiveIntegerField(_("deadline (minutes after activation)"))

    class Meta:
        ordering = ["plan", "minutes", "position", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def owner_label(self) -> str:
        if self.group_id is not None and self.group is not None:
            return self.group.name
        return str(Role(self.role).label) if self.role else ""


class ActivationStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    CLOSED = "closed", _("Stood down")


class Activation(models.Model):
    """One activation of a plan at a node, by the commander, with its triggering event.
    A drill runs the same plan without touching live data (no work orders)."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="activations")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    event = models.TextField(_("triggering event"))
    drill = models.BooleanField(_("drill"), default=False)
    status = models.CharField(
        max_length=10, choices=ActivationStatus.choices, default=ActivationStatus.RUNNING
    )
    started_at = models.DateTimeField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    assemble_by = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("activation")
        constraints = [
            # One running activation of a plan at a node (a drill and a live one apart).
            models.UniqueConstraint(
                fields=["plan", "jurisdiction", "drill"],
                condition=models.Q(status="running"),
                name="response_one_running",
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan} @ {self.jurisdiction_id}"


class FormedGroup(models.Model):
    activation = models.ForeignKey(Activation, on_delete=models.CASCADE, related_name="groups")
    plan_group = models.ForeignKey(PlanGroup, null=True, on_delete=models.SET_NULL)
    name = models.CharField(max_length=60)
    team = models.ForeignKey("org.Team", null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["activation", "id"]

    def __str__(self) -> str:
        return self.name


class Callout(models.Model):
    """One person called by an activation, and when they reported for duty (到岗)."""

    activation = models.ForeignKey(Activation, on_delete=models.CASCADE, related_name="callouts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(FormedGroup, null=True, on_delete=models.SET_NULL)
    arrived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["activation", "id"]
        constraints = [
            models.UniqueConstraint(fields=["activation", "user"], name="response_callout_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} for {self.activation_id}"


class ActivationStep(models.Model):
    """A step's timer: the plan's step as it was at activation, due at a fixed time."""

    activation = models.ForeignKey(Activation, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    owner = models.CharField(max_length=60, blank=True)
    minutes = models.PositiveIntegerField()
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    work_order = models.ForeignKey(
        "workorders.WorkOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["activation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["activation", "position"], name="response_step_once")
        ]

    def __str__(self) -> str:
        return self.title


class ResponseLevel(models.Model):
    """A graded response level and what it configures, as data.

    `config`: {"checkpoints": {"kinds": [post kind...], "names": [post name...]},
    "report_fields": [report field code...], "teams_on_duty": [team kind...],
    "rules": [text...]}. Shipped by migration; changed from the top of the tree.
    """

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("level name"), max_length=40)
    # 0 peace time; 3, 2, 1 the graded levels (1 the highest).
    rank = models.PositiveSmallIntegerField(_("rank"))
    config = models.JSONField(_("what it configures"), default=dict)

    class Meta:
        ordering = ["rank"]
        verbose_name = _("response level")

    def __str__(self) -> str:
        return self.name


class LevelChange(models.Model):
    """A switch of the response level at a node: who, when, why, the configuration
    switched from and to, and what each listener reported."""

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    from_level = models.ForeignKey(
        ResponseLevel, null=True, on_delete=models.PROTECT, related_name="+"
    )
    to_level = models.ForeignKey(ResponseLevel, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=300)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_config = models.JSONField(default=dict)
    to_config = models.JSONField(default=dict)
    listeners = models.JSONField(default=dict)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("response level change")

    def __str__(self) -> str:
        return f"{self.jurisdiction_id}: {self.to_level_id}"
