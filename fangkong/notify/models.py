"""Notifications: the in-app inbox, outside channels (DingTalk and WeCom robots, SMS
through a gateway, a console/file log), message templates and the delivery log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.fields import EncryptedTextField
from fangkong.org.models import Jurisdiction


class Notice(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(max_length=200, blank=True)
    # Who or what sent it ("workorders.escalation:42:2"); one key reaches a user once.
    key = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notice_user_unread")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], condition=~models.Q(key=""), name="notice_once"
            )
        ]

    def __str__(self) -> str:
        return self.title


class ChannelKind(models.TextChoices):
    CONSOLE = "console", _("Console (the server's log)")
    FILE = "file", _("File (one JSON line per message)")
    DINGTALK = "dingtalk", _("DingTalk group robot")
    WECOM = "wecom", _("WeCom group robot")
    SMS = "sms", _("SMS through an HTTP gateway")
    # An integrator's system, subscribed through the API: signed JSON events.
    WEBHOOK = "webhook", _("Webhook to an outside system (signed JSON)")


class Channel(models.Model):
    """An outside channel. Robots post to a group; SMS goes to each person's phone.

    The console and file channels need no outside service: the demo and the tests use
    them, and a town without robots or a gateway still sees every message logged.
    """

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=ChannelKind.choices)
    url = models.URLField(_("webhook or gateway address"), max_length=500, blank=True)
    secret = EncryptedTextField(_("secret or key"), blank=True)
    sign_name = models.CharField(_("SMS signature"), max_length=20, blank=True)
    per_minute = models.PositiveIntegerField(_("at most per minute"), default=20)
    enabled = models.BooleanField(_("enabled"), default=True)
    # The group this robot posts to, for routing: events at or under this node.
    jurisdiction = models.ForeignKey(
        Jurisdiction,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("for the group of"),
    )
    events = models.JSONField(_("events"), default=list, blank=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name


class MessageTemplate(models.Model):
    """A message with $variables (string.Template): "a letter to all villagers", the
    late-report reminder, the escalation summary."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"))

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed (gave up)")


class Delivery(models.Model):
    """One message on one channel to one recipient (a phone, or the robot's group), with
    every attempt's outcome: the delivery log."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    recipient = EncryptedTextField(blank=True)  # a phone for SMS; empty for a group
    recipient_label = models.CharField(max_length=100, blank=True)  # masked, for the log
    title = models.CharField(max_length=200)
    body = models.TextField()
    event = models.CharField(max_length=40, blank=True)
    key = models.CharField(max_length=160)  # one message per key and channel
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_try_at = models.DateTimeField(db_index=True)
    last_error = models.CharField(max_length=300, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["channel", "key"], name="delivery_once")]
        indexes = [models.Index(fields=["status", "next_try_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.key} {self.status}"
