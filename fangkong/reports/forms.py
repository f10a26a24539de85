"""Forms of the daily-report pages (a village's typed fields come from `ReportField`
rows and are checked by `services.clean_entered`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core.forms import bootstrap_widgets
from fangkong.reports.models import FieldKind, ReportField


class BulletinForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    highlights = forms.CharField(
        label=_("Highlights (one per line)"), required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip

    def clean_day(self) -> Any:
        day = self.cleaned_data["day"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("A bulletin is for today or a day before."))
        return day


class SettingsForm(forms.Form):
    deadline = forms.TimeField(label=_("Daily report deadline"),
                               widget=forms.TimeInput(attrs={"type": "time"}))  # fmt: skip
    red_overdue = forms.IntegerField(label=_("Red light at this many overdue work orders"),
                                     min_value=1, max_value=1000)  # fmt: skip
    active = forms.ModelMultipleChoiceField(
        label=_("Fields in use"), queryset=ReportField.objects.all(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    new_label = forms.CharField(label=_("New field typed by the villages"), max_length=100,
                                required=False)  # fmt: skip
    new_kind = forms.ChoiceField(
        label=_("Its kind"), required=False,
        choices=[(FieldKind.NUMBER.value, FieldKind.NUMBER.label),
                 (FieldKind.TEXT.value, FieldKind.TEXT.label)],
    )  # fmt: skip

    def __init__(self, *args: Any, fields_editable: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not fields_editable:
            for name in ("active", "new_label", "new_kind"):
                del self.fields[name]

    def clean_new_label(self) -> str:
        label = str(self.cleaned_data["new_label"]).strip()
        if label and ReportField.objects.filter(label=label).exists():
            raise forms.ValidationError(_("A field with this label exists."))
        return label


bootstrap_widgets(BulletinForm, SettingsForm)
