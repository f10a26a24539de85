"""Forms of tracing: a case opened by hand (the registry person named by their mobile),
a contact the case declares, and the chain view's filter."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.forms import bootstrap_widgets
from fangkong.tracing.cases import REASON_MAX
from fangkong.tracing.interview import ADDRESS_MAX, NOTE_MAX
from fangkong.tracing.models import CaseKind, CaseSource


class CaseForm(forms.Form):
    phone = forms.CharField(
        label=_("The person's mobile (as in the registry)"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=CaseKind.choices)
    onset_on = forms.DateField(label=_("Onset date"), required=False)
    sampled_on = forms.DateField(label=_("First positive sample date"), required=False)
    source = forms.ChoiceField(label=_("Source"), choices=CaseSource.choices)


class DeclareForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=40)
    phone = forms.CharField(
        label=_("Mobile"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    reason = forms.CharField(label=_("How they were in contact"), max_length=REASON_MAX)
    last_exposure_on = forms.DateField(label=_("Last exposure"))


class StayForm(forms.Form):
    """A place and time the case declares: the place's code from its poster, or the
    address in words when the place has no code."""

    place_code = forms.CharField(
        label=_("Place code (on the place's poster)"),
        max_length=16,
        required=False,
        help_text=_("Leave empty when the place has no code, and write the address."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    address = forms.CharField(
        label=_("Or the address in words"), max_length=ADDRESS_MAX, required=False
    )
    started_at = forms.DateTimeField(label=_("From (date and time)"))
    ended_at = forms.DateTimeField(label=_("Until (date and time)"))
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False)


class ChainFilter(forms.Form):
    case = forms.IntegerField(label=_("Case"), required=False, min_value=1, max_value=2**31 - 1)
    degree = forms.ChoiceField(
        label=_("Degree"),
        required=False,
        choices=(("", _("All")), ("1", _("Close contacts")), ("2", _("Secondary contacts"))),
    )


bootstrap_widgets(CaseForm, DeclareForm, StayForm, ChainFilter)
