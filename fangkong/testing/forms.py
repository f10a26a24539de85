"""Forms of the testing pages the command post uses: a round, a sampling point, a box
scanned out or in. They check the shape of the input; the services decide the rules
(a pool size other than 1/5/10/20 is refused by `rounds.check_pool_size`, which names
the field)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.forms import bootstrap_widgets
from fangkong.testing.models import POOL_SIZES

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class RoundForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    starts_on = forms.DateField(label=_("From"), widget=DATE)
    ends_on = forms.DateField(label=_("To"), widget=DATE)
    # A number, not a choice: a size other than the allowed ones reaches the service,
    # whose message says which sizes are allowed (a choice field would only say
    # "not one of the choices").
    pool_size = forms.IntegerField(
        label=_("Pool size"),
        min_value=0,
        max_value=1000,
        widget=forms.Select(choices=[(n, n) for n in POOL_SIZES]),
        initial=10,
    )
    min_age_years = forms.IntegerField(
        label=_("Tested from age (years)"), min_value=0, max_value=99, initial=0
    )
    recall_hours = forms.IntegerField(
        label=_("Recall within (hours)"), min_value=0, max_value=1000, initial=2
    )
    hold_days = forms.IntegerField(
        label=_("Temporary control (days)"), min_value=0, max_value=1000, initial=2
    )


class PointForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    opens_at = forms.TimeField(label=_("Opens at"), widget=TIME)
    closes_at = forms.TimeField(label=_("Closes at"), widget=TIME)
    capacity = forms.IntegerField(
        label=_("Capacity (people per hour)"), min_value=0, max_value=100000
    )

    def __init__(self, *args: Any, staff: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff"] = forms.TypedMultipleChoiceField(
            label=_("Staff"),
            choices=staff,
            coerce=int,
            required=False,
            widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        )


def barcodes_of(text: str) -> list[str]:
    """One barcode a line (a scanner's Enter), or separated by commas or spaces."""
    for sep in ("，", ",", "\r", "\t", " "):
        text = text.replace(sep, "\n")
    return [b.strip() for b in text.split("\n") if b.strip()]


class BoxForm(forms.Form):
    code = forms.CharField(
        label=_("Box code"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "off"}),
    )
    barcodes = forms.CharField(
        label=_("Tube barcodes (scan one after another)"),
        max_length=50000,
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off"}),
    )

    def clean_barcodes(self) -> list[str]:
        found = barcodes_of(self.cleaned_data["barcodes"])
        if len(found) > 2000:
            raise forms.ValidationError(_("At most 2000 tubes in one box."))
        return found

    def __init__(
        self, *args: Any, points: list[tuple[int, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if points is not None:
            # Scanned out at a point: which one (the first, if the round has one).
            self.fields["point"] = forms.TypedChoiceField(
                label=_("Sampling point"),
                choices=[("", "-"), *points],
                coerce=int,
                required=False,
                empty_value=None,
                widget=forms.Select(attrs={"class": "form-select"}),
            )
            self.order_fields(["point", "code", "barcodes"])


bootstrap_widgets(RoundForm, PointForm, BoxForm)
