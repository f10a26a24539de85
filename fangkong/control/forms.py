"""Forms of control pages: the daily check (by staff or by the person themselves)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.control.checks import SYMPTOMS


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
