"""Forms of households' requests: the resident's own (by their link, on a phone), staff
entering one taken by phone or at the door, and the hand-over to 120 or a hospital. The
client id is made when the form is shown, so a resent page makes one request."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.assist.models import Channel, Handover
from fangkong.assist.models_supplies import MoveKind
from fangkong.assist.services import DETAIL_MAX
from fangkong.core.forms import bootstrap_widgets
from fangkong.people.models import Tag


class AskForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What do you need?"),
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    detail = forms.CharField(
        label=_("Details (what, how much, how urgent)"),
        required=False,
        max_length=DETAIL_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    client_id = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_id", uuid.uuid4())


class StaffRequestForm(AskForm):
    channel = forms.ChoiceField(
        label=_("Taken"),
        choices=[(Channel.PHONE, Channel.PHONE.label), (Channel.DOOR, Channel.DOOR.label)],
    )


class HandoverForm(forms.Form):
    to = forms.ChoiceField(label=_("Handed over to"), choices=Handover.choices)
    note = forms.CharField(label=_("Note (crew, hospital, time)"), required=False, max_length=200)


bootstrap_widgets(AskForm, StaffRequestForm, HandoverForm)


class StoreForm(forms.Form):
    node = forms.ChoiceField(label=_("Town or village"))
    name = forms.CharField(label=_("Name"), max_length=60)


class ReceiveForm(forms.Form):
    """A donation or purchase: one quantity field per item (added by the view)."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (MoveKind.DONATION, MoveKind.DONATION.label),
            (MoveKind.PURCHASE, MoveKind.PURCHASE.label),
        ],
    )
    donor = forms.CharField(label=_("Donor or supplier"), max_length=100, required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    client_id = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, items: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_id", uuid.uuid4())
        for item in items:
            self.fields[f"q_{item.code}"] = forms.IntegerField(
                label=f"{item.name} ({item.unit})",
                required=False,
                min_value=0,
                max_value=100_000,
                widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
            )


class PackageForm(forms.Form):
    household = forms.TypedChoiceField(label=_("Household"), coerce=int)
    client_id = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_id", uuid.uuid4())


bootstrap_widgets(StoreForm, ReceiveForm, PackageForm)


class CareForm(forms.Form):
    """A person's entry on the vulnerable-people register."""

    contact = forms.TypedChoiceField(
        label=_("Contact person (包联干部)"), coerce=int, required=False, empty_value=None
    )
    needs = forms.CharField(
        label=_("Needs (medicine, dialysis days, help at home)"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    meals = forms.BooleanField(label=_("On the meal list"), required=False)


class MealForm(forms.Form):
    person = forms.TypedChoiceField(label=_("Elder"), coerce=int)
    client_id = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_id", uuid.uuid4())


bootstrap_widgets(CareForm, MealForm)


class AlertsForm(forms.Form):
    """The shortage threshold of each item in one store (fields added by the view)."""

    def __init__(self, *args: Any, items: list[Any], initial_below: dict[int, int], **kwargs: Any):
        super().__init__(*args, **kwargs)
        for item in items:
            self.fields[f"below_{item.code}"] = forms.IntegerField(
                label=f"{item.name} ({item.unit})",
                min_value=0,
                max_value=100_000,
                initial=initial_below.get(item.pk, 0),
                widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
            )


class KindSettingForm(forms.Form):
    id = forms.IntegerField(widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=40)
    green = forms.BooleanField(label=_("Green channel"), required=False)
    target_minutes = forms.IntegerField(label=_("Response target (minutes)"), min_value=1)


class GreenSettingForm(forms.Form):
    tag = forms.ChoiceField(label=_("Registry tag"), choices=[("", "—"), *Tag.choices])
    target_minutes = forms.IntegerField(label=_("Response target (minutes)"), min_value=1)


class ItemSettingForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=20)
    name = forms.CharField(label=_("Name"), max_length=40)
    unit = forms.CharField(label=_("Unit"), max_length=10)
    per_package = forms.IntegerField(label=_("Per package"), min_value=0, initial=0)
    per_meal = forms.IntegerField(label=_("Per meal"), min_value=0, initial=0)


bootstrap_widgets(KindSettingForm, GreenSettingForm, ItemSettingForm)
KindFormSet = forms.formset_factory(KindSettingForm, extra=0)
GreenFormSet = forms.formset_factory(GreenSettingForm, extra=1, can_delete=True)
ItemFormSet = forms.formset_factory(ItemSettingForm, extra=1)
