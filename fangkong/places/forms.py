"""Forms of the places pages: a place, the visitor's details on the public page, the
inspection's checklist (built from the checklist rows), a penalty, an enterprise's logs,
a route and a gathering."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.forms import bootstrap_widgets
from fangkong.places.models import ChecklistItem, GatheringKind, GoodsKind, PenaltyKind


class PlaceForm(forms.Form):
    node = forms.ChoiceField(label=_("Area"))
    category = forms.TypedChoiceField(label=_("Category"), coerce=int)
    name = forms.CharField(label=_("Name"), max_length=100)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    owner = forms.CharField(label=_("Owner"), max_length=100, required=False)
    manager_staff = forms.TypedChoiceField(
        label=_("Manager from the town's staff"), coerce=int, required=False, empty_value=None
    )
    manager_name = forms.CharField(
        label=_("Or a manager not on the staff"), max_length=60, required=False
    )
    manager_phone = forms.CharField(label=_("Manager's phone"), max_length=20, required=False)
    workforce = forms.IntegerField(
        label=_("Workforce (enterprises)"), min_value=0, max_value=1_000_000, required=False
    )


class VisitorForm(forms.Form):
    """First scan on a phone: name and mobile. Later scans send the phone's token only."""

    name = forms.CharField(label=_("Name"), max_length=40, required=False)
    phone = forms.CharField(
        label=_("Mobile"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    token = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)


ANSWER_CHOICES = [("ok", _("Yes")), ("fail", _("No")), ("na", _("Not applicable"))]


class InspectionForm(forms.Form):
    client_id = forms.UUIDField(widget=forms.HiddenInput)
    deadline_days = forms.IntegerField(
        label=_("Days to rectify"), min_value=1, max_value=30, initial=3
    )

    def __init__(self, *args: Any, items: list[ChecklistItem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        for item in items:
            self.fields[f"item_{item.code}"] = forms.ChoiceField(
                label=item.label,
                choices=ANSWER_CHOICES,
                widget=forms.RadioSelect,
                initial="ok",
            )
            self.fields[f"note_{item.code}"] = forms.CharField(
                label=_("What was found"),
                max_length=500,
                required=False,
                widget=forms.TextInput(attrs={"class": "form-control"}),
            )

    def answers(self) -> dict[str, str]:
        return {i.code: self.cleaned_data[f"item_{i.code}"] for i in self.items}

    def notes(self) -> dict[str, str]:
        return {i.code: self.cleaned_data.get(f"note_{i.code}", "") for i in self.items}

    def rows(self) -> list[tuple[Any, Any]]:
        return [(self[f"item_{i.code}"], self[f"note_{i.code}"]) for i in self.items]


class PenaltyForm(forms.Form):
    kind = forms.ChoiceField(label=_("Penalty"), choices=PenaltyKind.choices)
    fine_yuan = forms.IntegerField(
        label=_("Fine (yuan)"), min_value=0, max_value=1_000_000, required=False
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class ActForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("close", "close"), ("reopen", "reopen"), ("contacted", "contacted")],
        widget=forms.HiddenInput,
    )
    reason = forms.CharField(label=_("Closure order"), max_length=300, required=False)


class DisinfectionForm(forms.Form):
    day = forms.DateField(label=_("Day"))
    areas = forms.CharField(label=_("Areas disinfected"), max_length=200)
    done_by = forms.CharField(label=_("Done by"), max_length=60)


class GoodsForm(forms.Form):
    day = forms.DateField(label=_("Day"))
    kind = forms.ChoiceField(label=_("Goods"), choices=GoodsKind.choices)
    batches = forms.IntegerField(label=_("Batches"), min_value=0, max_value=100_000)
    sampled = forms.IntegerField(label=_("Samples taken"), min_value=0, max_value=100_000)
    all_negative = forms.BooleanField(label=_("All negative"), required=False)
    disinfected = forms.BooleanField(label=_("Outer packaging disinfected"), required=False)


class CommitmentForm(forms.Form):
    signer = forms.CharField(label=_("Signed by"), max_length=60)
    signed_on = forms.DateField(label=_("Signed on"))
    text = forms.CharField(
        label=_("Commitment letter"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class RouteForm(forms.Form):
    node = forms.ChoiceField(label=_("Area"))
    name = forms.CharField(label=_("Name"), max_length=100)
    every_days = forms.IntegerField(label=_("Every (days)"), min_value=1, max_value=90, initial=1)
    places = forms.TypedMultipleChoiceField(label=_("Places"), coerce=int)


class GatheringForm(forms.Form):
    node = forms.ChoiceField(label=_("Area"))
    kind = forms.ChoiceField(label=_("Gathering"), choices=GatheringKind.choices)
    on = forms.DateField(label=_("On"))
    organiser = forms.CharField(label=_("Organiser"), max_length=60)
    expected = forms.IntegerField(label=_("People expected"), min_value=1, max_value=100_000)


bootstrap_widgets(
    PlaceForm,
    VisitorForm,
    InspectionForm,
    PenaltyForm,
    DisinfectionForm,
    GoodsForm,
    CommitmentForm,
    RouteForm,
    GatheringForm,
)
