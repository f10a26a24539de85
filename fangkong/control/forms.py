"""Forms of control pages: the daily check (by staff or by the person themselves),
sites and rooms, transfers and the 四包一 team."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.control.checks import SYMPTOMS
from fangkong.control.models import RoomState, SiteKind
from fangkong.core.forms import bootstrap_widgets


class CheckForm(forms.Form):
    """Temperature, symptoms and a note; the client id is made when the form is shown,
    so a resent page (a weak network, a double tap) records one check."""

    temperature = forms.CharField(
        label=_("Temperature (°C)"),
        max_length=5,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms today"),
        required=False,
        choices=list(SYMPTOMS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(label=_("Anything else"), required=False, max_length=200)
    client_id = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_id", uuid.uuid4())


class SiteForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=SiteKind.choices)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    # New sites only: "101:2, 102:1" (room:beds), or one room per line.
    rooms = forms.CharField(
        label=_("Rooms (number:beds, separated by commas)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_rooms(self) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        raw = self.cleaned_data.get("rooms", "").replace("，", ",").replace("：", ":")
        for n, item in enumerate(p.strip() for p in raw.replace("\n", ",").split(",")):
            if not item:
                continue
            number, _sep, beds = item.partition(":")
            try:
                out.append((number.strip(), int(beds or 1)))
            except ValueError:
                raise forms.ValidationError(
                    _("Room %(n)d (%(item)s): the beds are not a number.")
                    % {"n": n + 1, "item": item}
                ) from None
        return out


class RoomForm(forms.Form):
    number = forms.CharField(label=_("Room"), max_length=20)
    capacity = forms.IntegerField(label=_("Beds"), min_value=1, max_value=20)


class RoomEditForm(forms.Form):
    capacity = forms.IntegerField(label=_("Beds"), min_value=1, max_value=20)
    state = forms.ChoiceField(label=_("State"), choices=RoomState.choices)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class TransferForm(forms.Form):
    pickup = forms.CharField(label=_("Pick-up"), max_length=200)
    destination = forms.TypedChoiceField(label=_("Destination"), coerce=int)
    vehicle = forms.CharField(label=_("Vehicle"), max_length=20)
    driver = forms.CharField(label=_("Driver"), max_length=50)
    escort = forms.TypedChoiceField(label=_("Escort"), coerce=int)
    passengers = forms.TypedMultipleChoiceField(
        label=_("Passengers"), coerce=int, widget=forms.CheckboxSelectMultiple
    )

    def __init__(
        self,
        *args: Any,
        sites: list[tuple[int, str]],
        escorts: list[tuple[int, str]],
        orders: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["destination"].choices = sites  # type: ignore[attr-defined]
        self.fields["escort"].choices = escorts  # type: ignore[attr-defined]
        self.fields["passengers"].choices = orders  # type: ignore[attr-defined]


TEAM_ROLES = {
    "cadre": _("Community cadre"),
    "grid_worker": _("Grid worker"),
    "doctor": _("Community doctor"),
    "police": _("Police officer"),
}


class TeamForm(forms.Form):
    """The order's 四包一: one of the staff the editor may name, or nobody."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for role, label in TEAM_ROLES.items():
            self.fields[role] = forms.TypedChoiceField(
                label=label,
                coerce=int,
                required=False,
                empty_value=None,
                choices=[("", "—"), *choices],
                widget=forms.Select(attrs={"class": "form-select"}),
            )


bootstrap_widgets(SiteForm, RoomForm, RoomEditForm, TransferForm)
