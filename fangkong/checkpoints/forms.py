"""Forms of the checkpoint pages (the phone's log is not a form post: it goes through
the offline queue to the API)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.checkpoints.models import PostKind
from fangkong.core.forms import bootstrap_widgets

LEVEL_CHOICES = [(1, _("Level 1")), (2, _("Level 2")), (3, _("Level 3")), (4, _("Level 4"))]
PATTERNS = {
    "3x8": ((0, 8, 16), 8),
    "2x12": ((8, 20), 12),
    "1x24": ((8,), 24),
}
PATTERN_CHOICES = [
    ("3x8", _("Three 8-hour shifts (0:00, 8:00, 16:00)")),
    ("2x12", _("Two 12-hour shifts (8:00, 20:00)")),
    ("1x24", _("One 24-hour shift (from 8:00)")),
]


class PostForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), choices=PostKind.choices)
    node = forms.ChoiceField(label=_("Where (node)"))
    lat = forms.DecimalField(
        label=_("Latitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=-90,
        max_value=90,
    )
    lng = forms.DecimalField(
        label=_("Longitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
    )
    all_day = forms.BooleanField(label=_("Open 24 hours"), required=False, initial=True)
    opens_at = forms.TimeField(label=_("Opens at"), required=False, widget=forms.TimeInput)
    closes_at = forms.TimeField(label=_("Closes at"), required=False, widget=forms.TimeInput)
    open_levels = forms.TypedMultipleChoiceField(
        label=_("Manned at response levels"),
        choices=LEVEL_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    active = forms.BooleanField(label=_("Manned now"), required=False, initial=True)
    leader = forms.ChoiceField(label=_("Post leader (hears of a missed check-in)"), required=False)


class RosterForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=forms.DateInput)
    pattern = forms.ChoiceField(label=_("Shifts"), choices=PATTERN_CHOICES, initial="3x8")


class HandoverForm(forms.Form):
    note = forms.CharField(
        label=_("Hand-over note for the next shift"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


bootstrap_widgets(PostForm, RosterForm, HandoverForm)
