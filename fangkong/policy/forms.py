"""Forms of the rules pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.forms import bootstrap_widgets
from fangkong.policy.models import Category, Edition, Measure, RiskLevel

_DATE = forms.DateInput(attrs={"type": "date"})


class AreaForm(forms.Form):
    code = forms.CharField(
        label=_("Division code"),
        max_length=12,
        help_text=_(
            "2, 4, 6 or 9 digits from the national codes; 12 for a community inside a street."
        ),
    )
    place = forms.CharField(label=_("Compound or building"), max_length=100, required=False)
    level = forms.ChoiceField(label=_("Level"), choices=RiskLevel.choices)
    effective_from = forms.DateField(label=_("Risky from"), widget=_DATE)
    effective_to = forms.DateField(label=_("Lifted on"), widget=_DATE, required=False)
    source = forms.CharField(label=_("Source document"), max_length=300, required=False)
    note = forms.CharField(label=_("Why (for the history)"), max_length=300, required=False)


class LiftForm(forms.Form):
    on = forms.DateField(label=_("Lifted on"), widget=_DATE)
    note = forms.CharField(label=_("Why (for the history)"), max_length=300, required=False)


class AreaFilterForm(forms.Form):
    q = forms.CharField(label=_("Area or code"), required=False, max_length=50)
    level = forms.ChoiceField(
        label=_("Level"), required=False, choices=[("", "—"), *RiskLevel.choices]
    )
    on = forms.DateField(label=_("In force on"), required=False, widget=_DATE)


class AreaImportForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (xlsx, xls or csv)"))
    source = forms.CharField(
        label=_("Source document (for rows without one)"), max_length=300, required=False
    )


class EditionCopyForm(forms.Form):
    name = forms.CharField(label=_("Name of the local edition"), max_length=120)
    effective_from = forms.DateField(label=_("In force from"), widget=_DATE)


class EditionForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Edition
        fields = [
            "name",
            "effective_from",
            "effective_to",
            "contact_lookback_days",
            "arrival_window_days",
            "day_one",
            "source",
            "notes",
        ]
        widgets = {
            "effective_from": _DATE,
            "effective_to": _DATE,
            "notes": forms.Textarea(attrs={"rows": 2}),
        }


class DayListField(forms.CharField):
    """Test days typed as "1, 2, 3, 5, 7"."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[int]:  # type: ignore[override]
        text = str(super().to_python(value) or "").replace("，", ",").replace("、", ",")
        try:
            days = sorted({int(part) for part in text.split(",") if part.strip()})
        except ValueError:
            raise forms.ValidationError(_("Write the days as numbers: 1, 2, 3, 5, 7")) from None
        if any(d < 1 or d > 60 for d in days):
            raise forms.ValidationError(_("Days run from 1 to 60."))
        return days


class MeasureForm(forms.ModelForm):  # type: ignore[type-arg]
    tests = DayListField(label=_("Test days"), required=False)
    then_tests = DayListField(label=_("Then test days"), required=False)

    class Meta:
        model = Measure
        fields = [
            "identified",
            "place",
            "days",
            "tests",
            "then_place",
            "then_days",
            "then_tests",
            "n_tests",
            "within_days",
            "min_interval_hours",
            "followups_per_day",
            "note",
        ]

    @property
    def category_label(self) -> str:
        return str(Category(self.instance.category).label)


MeasureFormSet = forms.modelformset_factory(Measure, form=MeasureForm, extra=0)


class CheckForm(forms.Form):
    """Try the engine: one origin and/or one exposure, and a date."""

    on = forms.DateField(label=_("Arrival or assessment date"), widget=_DATE)
    code = forms.CharField(label=_("Came from (division code)"), max_length=12, required=False)
    place = forms.CharField(label=_("Compound or building"), max_length=100, required=False)
    left_on = forms.DateField(label=_("Left there on"), widget=_DATE, required=False)
    exposure = forms.ChoiceField(
        label=_("Exposure"),
        required=False,
        choices=[
            ("", "—"),
            *[
                (c.value, c.label)
                for c in Category
                if c.value in ("close_contact", "secondary_contact", "companion", "key_occupation")
            ],
        ],
    )
    last_on = forms.DateField(label=_("Last exposure on"), widget=_DATE, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("code") and not data.get("left_on"):
            self.add_error("left_on", _("When did they leave?"))
        if data.get("exposure") and not data.get("last_on"):
            self.add_error("last_on", _("When was the last exposure?"))
        return data


bootstrap_widgets(
    AreaForm,
    LiftForm,
    AreaFilterForm,
    AreaImportForm,
    EditionCopyForm,
    EditionForm,
    MeasureForm,
    CheckForm,
)
