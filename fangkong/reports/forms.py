"""Forms of the daily-report pages (a village's typed fields come from `ReportField`
rows and are checked by `services.clean_entered`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core.forms import bootstrap_widgets
from fangkong.reports.metrics import OVERDUE_AGE_CAP
from fangkong.reports.models import FieldKind, ReportField


class BulletinForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=forms.DateInput())
    highlights = forms.CharField(
        label=_("Highlights (one per line)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_day(self) -> Any:
        day = self.cleaned_data["day"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("A bulletin is for today or a day before."))
        return day


class SettingsForm(forms.Form):
    deadline = forms.TimeField(label=_("Daily report deadline"), widget=forms.TimeInput())
    red_overdue = forms.IntegerField(
        label=_("Red light at this many overdue work orders"), min_value=1, max_value=1000
    )
    red_overdue_days = forms.IntegerField(
        label=_("counting the orders overdue for at least this many days"),
        min_value=1,
        max_value=OVERDUE_AGE_CAP,
        required=False,
        help_text=_(
            "Red is for what needs action today: a report missing after the deadline, or "
            "this many orders still open this many days after they were due. Fewer or "
            "fresher overdue orders show amber."
        ),
    )
    active = forms.ModelMultipleChoiceField(
        label=_("Fields in use"),
        queryset=ReportField.objects.filter(field_set=None),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    new_label = forms.CharField(
        label=_("New field typed by the villages"), max_length=100, required=False
    )
    new_kind = forms.ChoiceField(
        label=_("Its kind"),
        required=False,
        choices=[
            (FieldKind.NUMBER.value, FieldKind.NUMBER.label),
            (FieldKind.TEXT.value, FieldKind.TEXT.label),
        ],
    )

    def __init__(self, *args: Any, fields_editable: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not fields_editable:
            for name in ("active", "new_label", "new_kind"):
                del self.fields[name]

    def clean_new_label(self) -> str:
        label = str(self.cleaned_data["new_label"]).strip()
        if label and ReportField.objects.filter(field_set=None, label=label).exists():
            raise forms.ValidationError(_("A field with this label exists."))
        return label


bootstrap_widgets(BulletinForm, SettingsForm)
