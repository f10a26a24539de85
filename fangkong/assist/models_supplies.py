"""Supplies (物资保障): stores of a town or village, the items as data, a ledger of every
movement (donations with their donor, purchases, packages issued to households at the
door), the balance per store and item kept beside it, and the packages
themselves. Nothing goes negative — the balance is checked in the database too — and a
package is one per household per day, whatever a retrying phone sends."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import ScopedQuerySet


class Item(models.Model):
    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=40)
    unit = models.CharField(_("unit"), max_length=10)
    # How many of it one household's package holds (0: not in the package).
    per_package = models.PositiveSmallIntegerField(_("per package"), default=0)
    # How many of it one elder's meal takes (0: not in a meal).
    per_meal = models.PositiveSmallIntegerField(_("per meal"), default=0)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("item")

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    name = models.CharField(_("name"), max_length=60)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["jurisdiction__path", "name"]
        verbose_name = _("store")
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "name"], name="assist_store_name")
        ]

    def __str__(self) -> str:
        return self.name


class Stock(models.Model):
    """The balance of one item in one store, changed only with its ledger entry."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="stock")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=0)
    # Below this the store is short of the item (0: never alerted).
    alert_below = models.PositiveIntegerField(_("alert below"), default=0)

    class Meta:
        ordering = ["store_id", "item__position"]
        constraints = [
            models.UniqueConstraint(fields=["store", "item"], name="assist_stock_once"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="assist_stock_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.item_id}={self.quantity}"


class MoveKind(models.TextChoices):
    DONATION = "donation", _("Donation received")
    PURCHASE = "purchase", _("Purchase")
    PACKAGE = "package", _("Package to a household")
    MEAL = "meal", _("Meal to an elder")


class Receipt(models.Model):
    """One donation or purchase received: who gave it, when, a note; its lines are
    ledger entries. Idempotent by the client id."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="receipts")
    kind = models.CharField(_("kind"), max_length=10, choices=MoveKind.choices)
    donor = models.CharField(_("donor or supplier"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    client_id = models.UUIDField(unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.donor}"


class Package(models.Model):
    """A package handed to a household at the door: one per household per day."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="packages")
    household = models.ForeignKey("people.Household", on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    client_id = models.UUIDField(unique=True)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    given_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["household", "day"], name="assist_package_daily")
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.day}"


class Move(models.Model):
    """One line of the ledger: never changed once written."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="moves")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=MoveKind.choices)
    delta = models.IntegerField()
    receipt = models.ForeignKey(
        Receipt, null=True, blank=True, on_delete=models.PROTECT, related_name="lines"
    )
    package = models.ForeignKey(
        Package, null=True, blank=True, on_delete=models.PROTECT, related_name="lines"
    )
    meal = models.ForeignKey(
        "assist.Meal", null=True, blank=True, on_delete=models.PROTECT, related_name="lines"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="assist_move_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.item_id} {self.delta:+d}"
