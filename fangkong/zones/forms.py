"""Forms of the zone pages: places (a compound of a village, a building or unit under a
place, derived from the registry), zones by hand or delineated around a case's place,
and the lift (the version read, so two commanders do not both lift)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.forms import bootstrap_widgets


class VillageForm(forms.Form):
    """A compound by hand (with a name), or every place of the village derived from its
    households' addresses (without one)."""

    village = forms.ChoiceField(label=_("Village"))
    name = forms.CharField(label=_("Compound"), max_length=60, required=False)
    action = forms.ChoiceField(
        choices=[("add", "add"), ("derive", "derive")], widget=forms.HiddenInput
    )


class PlaceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)


class ZoneForm(forms.Form):
    kind = forms.TypedChoiceField(label=_("Kind"), coerce=int)
    name = forms.CharField(label=_("Name"), max_length=100)
    reason = forms.CharField(
        label=_("Reason (the case or the cluster)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    places = forms.TypedMultipleChoiceField(
        label=_("Places"), coerce=int, required=False, widget=forms.SelectMultiple
    )
    nodes = forms.MultipleChoiceField(label=_("Whole villages or grids"), required=False)


class DelineateForm(forms.Form):
    edition = forms.TypedChoiceField(label=_("Edition"), coerce=int, required=False)
    reason = forms.CharField(
        label=_("Reason (the case or the cluster)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class LiftForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


bootstrap_widgets(VillageForm, PlaceForm, ZoneForm, DelineateForm)
