from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.forms import bootstrap_widgets
from fangkong.retention.models import RecordKind
from fangkong.retention.services import MAX_DAYS


class RetentionForm(forms.Form):
    """A number of days per kind of records, and the end of the epidemic's control."""

    ended_on = forms.DateField(
        label=_("The epidemic's control ended on"),
        required=False,
        help_text=_(
            "Leave empty while the epidemic lasts. Once set, every kind of record goes "
            "when its period has run from this day, the registry included."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in RecordKind:
            self.fields[f"days_{kind.value}"] = forms.IntegerField(
                label=kind.label,
                min_value=1,
                max_value=MAX_DAYS,
                widget=forms.NumberInput(attrs={"class": "form-control form-control-sm"}),
            )

    def days(self) -> dict[str, int]:
        return {kind.value: self.cleaned_data[f"days_{kind.value}"] for kind in RecordKind}


bootstrap_widgets(RetentionForm)
