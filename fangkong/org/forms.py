from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.forms import bootstrap_widgets
from fangkong.core.purpose import clean_purpose
from fangkong.org.clients import MAX_DAYS
from fangkong.org.models import Responsibility, StaffKind, TeamKind, TeamTemplate
from fangkong.org.roles import PERM_LABELS, Perm, Role


class UnmaskForm(forms.Form):
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=300,
        help_text=_("Why you need the full value; it is written to the audit log."),
        error_messages={"required": _("State the purpose before viewing personal data.")},
    )

    def clean_purpose(self) -> str:
        return clean_purpose(self.cleaned_data["purpose"])


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx or .csv)"))


class StaffForm(forms.Form):
    node = forms.CharField(label=_("Node code"), max_length=40)
    username = forms.RegexField(
        label=_("User name"),
        regex=r"^[A-Za-z0-9_.-]{3,30}$",
        error_messages={"invalid": _("3-30 letters, digits, '_', '.' or '-'.")},
    )
    name = forms.CharField(label=_("Name"), max_length=50)
    kind = forms.ChoiceField(label=_("Kind"), choices=StaffKind.choices)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    id_number = forms.CharField(label=_("ID number"), max_length=20, required=False)
    unit = forms.CharField(label=_("Unit"), max_length=100, required=False)
    is_party_member = forms.BooleanField(label=_("Party member"), required=False)
    role = forms.ChoiceField(
        label=_("Role at the node"), choices=[("", "—"), *Role.choices], required=False
    )
    responsibility = forms.ChoiceField(
        label=_("Responsible for"), choices=[("", "—"), *Responsibility.choices], required=False
    )
    post = forms.CharField(label=_("Post"), max_length=100, required=False)


class TeamForm(forms.Form):
    node = forms.CharField(label=_("Home node code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=TeamKind.choices)
    duty = forms.CharField(
        label=_("Duty"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    template = forms.ModelChoiceField(
        label=_("Template"), queryset=TeamTemplate.objects.all(), required=False
    )


class TeamMembersForm(forms.Form):
    members = forms.CharField(
        label=_("Members"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text=_(
            "One per line: user name, then optionally a comma and the slot (cadre, backbone, volunteer)."
        ),
    )
    leader = forms.CharField(label=_("Leader's user name"), max_length=150, required=False)


def _key_perm_choices() -> list[tuple[str, Any]]:
    # A key never manages keys (org.clients refuses it too): not offered at all.
    return [(p.value, PERM_LABELS[p]) for p in Perm if p is not Perm.CLIENTS_MANAGE]


class ApiClientForm(forms.Form):
    """Issue an API key: what the API's `POST /org/clients` takes, as a page's form."""

    name = forms.CharField(
        label=_("Client name"),
        max_length=100,
        help_text=_("Who will use the key, e.g. the county CDC's platform."),
    )
    node = forms.CharField(
        label=_("Node code"),
        max_length=40,
        help_text=_("The key sees this node's area and nothing else."),
    )
    perms = forms.MultipleChoiceField(
        label=_("Permissions"),
        choices=_key_perm_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only permissions you hold at that node can be given."),
        error_messages={"required": _("Choose at least one permission.")},
    )
    days = forms.IntegerField(
        label=_("Valid for (days)"), min_value=1, max_value=MAX_DAYS, initial=90
    )


bootstrap_widgets(StaffForm, TeamForm, TeamMembersForm, ApiClientForm)


def node_from_form(form: forms.Form, user: Any, perm: Perm, field: str = "node") -> Any:
    """The jurisdiction whose code the form names, if the user holds `perm` there;
    otherwise None and an error on the field."""
    from fangkong.org.models import Jurisdiction

    node = Jurisdiction.objects.visible_to(user, perm).filter(code=form.cleaned_data[field]).first()
    if node is None:
        form.add_error(field, _("No such node in your jurisdiction."))
    return node
