"""Forms of the notification pages: a channel (its secret write-only), a message
template, a broadcast (with one input per variable of the chosen template) and the
delivery log's filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from fangkong.core.forms import bootstrap_widgets
from fangkong.notify import addresses, selectors
from fangkong.notify.models import Channel, ChannelKind, DeliveryStatus, MessageTemplate
from fangkong.notify.services import (
    EVENT_LABELS,
    TEST_EVENT,
    TemplateError,
    render,
    template_problems,
    template_variables,
)
from fangkong.org.models import Jurisdiction, Level, Team
from fangkong.org.roles import Perm, Role

_ROBOTS = {ChannelKind.DINGTALK, ChannelKind.WECOM}
_WITH_ADDRESS = _ROBOTS | {ChannelKind.SMS}
# Prefix of the per-variable inputs, so a variable named "title" or "node" cannot
# collide with the form's own fields.
VAR_PREFIX = "var_"


class NodeChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A node, indented by its depth so the tree reads in a plain select."""

    def label_from_instance(self, obj: Any) -> str:
        indent = "\u3000" * max(int(obj.level) - Level.TOWN, 0)
        return f"{indent}{obj.name} ({obj.code})"


class TeamChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} · {obj.jurisdiction.name}"


def masked_url(url: str) -> str:
    """The address without its token: scheme, host and path, the query's values hidden."""
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(url)
    query = "&".join(f"{k}=****" for k, _v in parse_qsl(parts.query, keep_blank_values=True))
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")


class ChannelForm(forms.ModelForm):  # type: ignore[type-arg]
    url = forms.CharField(
        label=_("Webhook or gateway address"),
        max_length=500,
        required=False,
        help_text=_("http:// or https://; robots and SMS gateways only."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=list(EVENT_LABELS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What a group robot posts. SMS is sent only when a broadcast asks for it."),
    )
    # Write-only: never put back into the page, and blank keeps what is stored.
    secret = forms.CharField(
        label=_("Secret or key"),
        max_length=500,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("DingTalk: the signing secret (starts with SEC). SMS: the gateway key."),
    )
    clear_secret = forms.BooleanField(label=_("Remove the stored secret"), required=False)

    class Meta:
        model = Channel
        fields = [
            "key",
            "name",
            "kind",
            "url",
            "jurisdiction",
            "events",
            "sign_name",
            "per_minute",
            "enabled",
        ]
        field_classes = {"jurisdiction": NodeChoiceField}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        # Webhook subscriptions are made through the API, with their own events and a
        # secret generated there (notify/webhooks.py); the page makes robots and gateways.
        kind = self.fields["kind"]
        kind.choices = [  # type: ignore[attr-defined]
            c
            for c in kind.choices  # type: ignore[attr-defined]
            if c[0] != ChannelKind.WEBHOOK or self.instance.kind == ChannelKind.WEBHOOK
        ]
        self.instance_url = self.instance.url if editing else ""
        self.has_secret = editing and bool(self.instance.secret)
        current = self.instance.jurisdiction_id if editing else None
        nodes = Jurisdiction.objects.visible_to(user, Perm.NOTIFY_MANAGE).filter(
            Q(level__in=selectors.PICKER_LEVELS) | Q(pk=current or 0)
        )
        node_field = self.fields["jurisdiction"]
        node_field.queryset = nodes  # type: ignore[attr-defined]
        # Only a manager of the whole tree may keep a channel that belongs to no node.
        node_field.required = not selectors.manages_everything(user)
        node_field.help_text = _("The group's node: robots take the events at or under it.")
        node_field.empty_label = _("— the whole system —")  # type: ignore[attr-defined]
        # At least one a minute, or the channel would hold its messages for ever.
        per_minute = self.fields["per_minute"]
        per_minute.validators += [MinValueValidator(1), MaxValueValidator(600)]
        per_minute.widget.attrs.update({"min": 1, "max": 600})
        if editing:
            # A webhook address carries its access token (WeCom's key=, DingTalk's
            # access_token=): like the secret, it is never put back into the page.
            self.initial["url"] = ""
            if self.instance.url:
                self.fields["url"].help_text = _(
                    "Stored: %(url)s. Leave this blank to keep it."
                ) % {"url": masked_url(self.instance.url)}
            self.fields["secret"].help_text = (
                _("A secret is stored. Leave this blank to keep it unchanged.")
                if self.has_secret
                else _("No secret is stored. Leave blank for none.")
            )
        else:
            del self.fields["clear_secret"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"].strip()
        if url:
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                raise ValidationError(
                    _("Enter an address starting with http:// or https://.")
                ) from None
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if self.instance.pk and not data.get("url") and "url" not in self.errors:
            data["url"] = self.instance_url  # blank keeps the stored address
        url = data.get("url", "")
        if kind in _WITH_ADDRESS and not url and "url" not in self.errors:
            self.add_error("url", _("A group robot or an SMS gateway needs its address."))
        if kind in _WITH_ADDRESS and url and url != self.instance_url:
            try:
                addresses.check_to_save(url)
            except addresses.AddressRefused as e:
                self.add_error("url", str(e))
        if kind in (ChannelKind.CONSOLE, ChannelKind.FILE) and url:
            # The file channel writes to the server's own log file; a web page must not
            # choose a path on the server.
            self.add_error("url", _("The console and file channels have no address."))
        if kind == ChannelKind.DINGTALK:
            secret = self.new_secret()
            if secret is None:
                secret = self.instance.secret if self.instance.pk else ""
            if secret and not secret.startswith("SEC"):
                self.add_error("secret", _("A DingTalk signing secret starts with SEC."))
        return data

    def new_secret(self) -> str | None:
        """None: keep the stored secret; "": remove it; else the new one."""
        if self.cleaned_data.get("clear_secret"):
            return ""
        secret: str = (self.cleaned_data.get("secret") or "").strip()
        return secret or (None if self.instance.pk else "")

    def channel_data(self) -> dict[str, Any]:
        return {f: self.cleaned_data[f] for f in self.Meta.fields}


class TemplateForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = MessageTemplate
        fields = ["key", "name", "title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 12})}
        help_texts = {
            "body": _(
                "Variables: $name or ${name} (Latin letters, digits, _); $$ for a dollar sign."
            )
        }

    def clean_title(self) -> str:
        return self._variables_ok("title")

    def clean_body(self) -> str:
        return self._variables_ok("body")

    def _variables_ok(self, field: str) -> str:
        text: str = self.cleaned_data[field]
        problems = template_problems(text)
        if problems:
            raise ValidationError(problems)
        return text


class BroadcastForm(forms.Form):
    key = forms.UUIDField(widget=forms.HiddenInput)
    template = forms.ModelChoiceField(
        label=_("Template"),
        queryset=MessageTemplate.objects.all(),
        required=False,
        empty_label=_("— none: write the message below —"),
    )
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    node = NodeChoiceField(
        label=_("To the staff under"), queryset=Jurisdiction.objects.none(), empty_label=None
    )
    roles = forms.MultipleChoiceField(
        label=_("Only these roles"),
        choices=Role.choices,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("None selected: all staff under the node."),
    )
    team = TeamChoiceField(
        label=_("Or only this team"), queryset=Team.objects.none(), required=False, empty_label="—"
    )
    sms = forms.BooleanField(label=_("Also by SMS to their phones"), required=False)
    robots = forms.BooleanField(label=_("Also to the group robots of the node"), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = selectors.broadcast_nodes(user)  # type: ignore[attr-defined]
        self.fields["team"].queryset = selectors.broadcast_teams(user)  # type: ignore[attr-defined]
        self.chosen = self._chosen_template()
        self.variables = template_variables(self.chosen) if self.chosen else []
        today = date_format(timezone.localdate(), "DATE_FORMAT")
        for name in self.variables:
            self.fields[VAR_PREFIX + name] = forms.CharField(
                label=f"${name}",
                max_length=500,
                initial=today if name == "date" else None,
                error_messages={"required": _("The template needs $%(name)s.") % {"name": name}},
            )
        bootstrap_widgets_for(self)

    def _chosen_template(self) -> MessageTemplate | None:
        raw = self.data.get("template") if self.is_bound else self.initial.get("template")
        if isinstance(raw, MessageTemplate):
            return raw
        try:
            return MessageTemplate.objects.filter(pk=int(raw)).first() if raw else None
        except (TypeError, ValueError):
            return None

    def variable_fields(self) -> list[forms.BoundField]:
        return [self[VAR_PREFIX + name] for name in self.variables]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        template = data.get("template")
        if template is not None:
            values = {n: data[VAR_PREFIX + n] for n in self.variables if data.get(VAR_PREFIX + n)}
            missing = [n for n in self.variables if n not in values]
            if not missing:
                try:
                    data["title"], data["body"] = render(template, values)
                except TemplateError as e:
                    raise ValidationError(str(e)) from None
        else:
            if not data.get("title"):
                self.add_error("title", _("Write a title, or pick a template."))
            if not data.get("body"):
                self.add_error("body", _("Write a message, or pick a template."))
        team, node = data.get("team"), data.get("node")
        if team is not None and data.get("roles"):
            self.add_error("roles", _("Pick roles or a team, not both."))
        if (
            team is not None
            and node is not None
            and not team.jurisdiction.path.startswith(node.path)
        ):
            self.add_error("team", _("The team is not under the chosen node."))
        return data


def bootstrap_widgets_for(form: forms.Form) -> None:
    """Bootstrap classes on fields added per instance (the template's variables)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        elif not isinstance(widget, forms.CheckboxSelectMultiple | forms.HiddenInput):
            widget.attrs.setdefault("class", "form-control")


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *DeliveryStatus.choices],
    )
    channel = forms.TypedChoiceField(
        label=_("Channel"), required=False, coerce=int, empty_value=None, choices=()
    )
    event = forms.ChoiceField(
        label=_("Event"),
        required=False,
        choices=[("", _("All events")), *EVENT_LABELS.items(), (TEST_EVENT, _("Test message"))],
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channels = selectors.channels_visible(user).values_list("pk", "name")
        self.fields["channel"].choices = [("", _("All channels")), *channels]  # type: ignore[attr-defined]

    def filters(self) -> selectors.DeliveryFilters:
        if not self.is_valid():
            return selectors.DeliveryFilters()
        d = self.cleaned_data
        return selectors.DeliveryFilters(
            status=d["status"], channel_id=d["channel"], event=d["event"]
        )


bootstrap_widgets(ChannelForm, TemplateForm, DeliveryFilterForm)
