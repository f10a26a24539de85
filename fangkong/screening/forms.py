"""The returnee report form (public, and inside the field app) and the status lookup."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from fangkong.core.forms import bootstrap_widgets
from fangkong.core.identity import check_id_number
from fangkong.core.normalise import fold_width, is_mainland_mobile, normalise_phone
from fangkong.core.vehicles import clean_flight, clean_plate, clean_train
from fangkong.org.models import Jurisdiction, Level
from fangkong.policy import divisions
from fangkong.policy.models import Category
from fangkong.screening.kinds import VERIFY_OUTCOMES
from fangkong.screening.models import Mode, PushedCategory, Vaccination
from fangkong.screening.services import ReportInput

_DATE = forms.DateInput(attrs={"type": "date"})
# A name as on an ID card: Chinese characters, letters, the middle dot of minority and
# foreign names, spaces. Nothing a browser could read as markup.
_NAME = re.compile(r"^[\u3400-\u9fff\uf900-\ufaffA-Za-z·• .'-]{1,30}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f<>]")
# How far back a report may go: a returnee reports on arrival, not a month later.
MAX_DAYS_BACK = 30
_PICKERS = (("province", "city"), ("city", "county"), ("county", "street"))


def _plain(value: str, label: Any) -> str:
    value = fold_width(value).strip()
    if _CONTROL.search(value):
        raise ValidationError(
            _("%(field)s has characters that are not allowed (< > or control characters).")
            % {"field": label}
        )
    return value


# Required choices start empty: a preselected answer (by car, not vaccinated) is a wrong
# answer for everyone who does not change it.
CHOOSE = _("Choose")
# Ways of travel whose plate, train or flight number is required, and its check.
VEHICLE_CHECKS = {Mode.CAR: clean_plate, Mode.TRAIN: clean_train, Mode.FLIGHT: clean_flight}


def _input(**attrs: str) -> forms.TextInput:
    return forms.TextInput(attrs=attrs)


class ReportForm(forms.Form):
    name = forms.CharField(
        label=_("Name (as on the ID card)"), max_length=30, widget=_input(autocomplete="name")
    )
    # The numeric keypad: an ID number is digits, and the X some end with has its own
    # button on the public form (public_form.js).
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=24,
        widget=_input(
            inputmode="numeric", autocomplete="off", autocapitalize="characters", spellcheck="false"
        ),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )
    province = forms.ChoiceField(label=_("Came from: province"), choices=())
    city = forms.ChoiceField(label=_("City"), choices=(), required=False)
    county = forms.ChoiceField(label=_("District or county"), choices=())
    street = forms.ChoiceField(label=_("Street or township"), choices=(), required=False)
    place = forms.CharField(
        label=_("Compound or building (if known)"), max_length=60, required=False
    )
    left_on = forms.DateField(label=_("Left there on"), widget=_DATE)
    arrived_on = forms.DateField(label=_("Arrived here on"), widget=_DATE)
    mode = forms.ChoiceField(
        label=_("Travelled by"),
        choices=[("", CHOOSE), *Mode.choices],
    )
    vehicle = forms.CharField(
        label=_("Plate, train or flight number"),
        max_length=20,
        required=False,
        help_text=_("Needed if you came by car, train or plane."),
        widget=forms.TextInput(
            attrs={"data-fk-needed-for": " ".join(VEHICLE_CHECKS), "autocapitalize": "characters"}
        ),
    )
    grid = forms.ChoiceField(label=_("Grid (if you know it)"), choices=(), required=False)
    address = forms.CharField(
        label=_("Address here"), max_length=120, widget=_input(autocomplete="street-address")
    )
    symptoms = forms.BooleanField(label=_("Fever, cough or other symptoms now"), required=False)
    symptoms_note = forms.CharField(label=_("Which symptoms"), max_length=100, required=False)
    vaccination = forms.TypedChoiceField(
        label=_("COVID-19 vaccination"),
        coerce=int,
        empty_value=None,
        choices=[("", CHOOSE), *Vaccination.choices],
    )
    # A field people never see: a bot that fills every field fills this one too.
    website = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off", "class": "fk-hp"}),
    )

    def __init__(
        self, *args: Any, village: Jurisdiction, today: date, grids: Any = None, **kwargs: Any
    ) -> None:
        """`grids`: when given, the grids the person filling in may choose (one is then
        required); otherwise any grid of the village, or none."""
        super().__init__(*args, **kwargs)
        self.village, self.today = village, today
        self.warnings: list[str] = []
        blank = [("", CHOOSE)]
        self.fields["province"].choices = blank + divisions.children("")  # type: ignore[attr-defined]
        for parent, child in _PICKERS:
            chosen = str(self.data.get(parent, "")) if self.is_bound else ""
            self.fields[child].choices = blank + (divisions.children(chosen) if chosen else [])  # type: ignore[attr-defined]
        options = Jurisdiction.objects.filter(parent=village, level=Level.GRID).order_by("code")
        if grids is not None:
            options = options.filter(pk__in=grids.values("pk"))
            self.fields["grid"].required = True
        self.fields["grid"].choices = blank + [(g.code, g.name) for g in options]  # type: ignore[attr-defined]

    def clean_name(self) -> str:
        name = _plain(self.cleaned_data["name"], _("Name"))
        if not _NAME.match(name):
            raise ValidationError(
                _("Write the name as on the ID card, in Chinese characters or letters.")
            )
        return name

    def clean_id_number(self) -> str:
        checked = check_id_number(self.cleaned_data["id_number"], today=self.today)
        self.warnings = list(checked.warnings)
        return checked.number

    def vehicle_needed(self) -> bool:
        """Whether the chosen way of travel needs the vehicle field (to mark it)."""
        return self.is_bound and self.data.get("mode") in VEHICLE_CHECKS

    def clean_phone(self) -> str:
        digits = normalise_phone(self.cleaned_data["phone"])
        if not is_mainland_mobile(digits):
            raise ValidationError(_("A mobile number has 11 digits and starts with 13 to 19."))
        return digits

    def clean_address(self) -> str:
        address = _plain(self.cleaned_data["address"], _("Address here"))
        if len(address) < 2:
            raise ValidationError(_("Write the address where you stay."))
        return address

    def clean_place(self) -> str:
        return _plain(self.cleaned_data.get("place", ""), _("Compound or building"))

    def clean_symptoms_note(self) -> str:
        return _plain(self.cleaned_data.get("symptoms_note", ""), _("Which symptoms"))

    def clean_website(self) -> str:
        if self.cleaned_data.get("website"):
            raise ValidationError(_("Leave this field empty."))
        return ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        left, arrived = data.get("left_on"), data.get("arrived_on")
        if arrived is not None:
            if arrived > self.today:
                self.add_error("arrived_on", _("The arrival date is in the future."))
            elif arrived < self.today - timedelta(days=MAX_DAYS_BACK):
                self.add_error(
                    "arrived_on",
                    _("Report arrivals of the last %(n)d days.") % {"n": MAX_DAYS_BACK},
                )
        if left is not None and arrived is not None:
            if left > arrived:
                self.add_error("left_on", _("You left before you arrived: check the dates."))
            elif left < arrived - timedelta(days=MAX_DAYS_BACK):
                self.add_error(
                    "left_on",
                    _("Give where you were in the last %(n)d days.") % {"n": MAX_DAYS_BACK},
                )
        vehicle, mode = data.get("vehicle", ""), data.get("mode")
        checks = VEHICLE_CHECKS
        if vehicle and mode in checks:
            try:
                data["vehicle"] = checks[Mode(mode)](vehicle)
            except ValidationError as e:
                self.add_error("vehicle", e)
        elif vehicle:
            try:
                data["vehicle"] = _plain(vehicle, _("Plate, train or flight number"))
            except ValidationError as e:
                self.add_error("vehicle", e)
        elif mode in checks:
            self.add_error("vehicle", _("Give the plate, train or flight number."))
        return data

    def origin_code(self) -> str:
        d = self.cleaned_data
        return d.get("street") or d.get("county") or ""

    def report_input(self) -> ReportInput:
        d = self.cleaned_data
        node = self.village
        if d.get("grid"):
            node = Jurisdiction.objects.get(parent=self.village, code=d["grid"])
        return ReportInput(
            name=d["name"],
            id_number=d["id_number"],
            phone=d["phone"],
            origin_code=self.origin_code(),
            origin_place=d.get("place", ""),
            left_on=d["left_on"],
            arrived_on=d["arrived_on"],
            mode=d["mode"],
            vehicle=d.get("vehicle", ""),
            jurisdiction=node,
            address=d["address"],
            symptoms=bool(d.get("symptoms")),
            symptoms_note=d.get("symptoms_note", ""),
            vaccination=int(d.get("vaccination") or 0),
        )


class StatusForm(forms.Form):
    code = forms.CharField(
        label=_("Confirmation code"),
        max_length=12,
        widget=_input(autocomplete="off", autocapitalize="characters", spellcheck="false"),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )

    def clean_code(self) -> str:
        return "".join(fold_width(self.cleaned_data["code"]).split()).upper()

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data["phone"])


bootstrap_widgets(ReportForm, StatusForm)


class PushedListForm(forms.Form):
    file = forms.FileField(label=_("The list (xlsx, xls or csv, in its own layout)"))
    name = forms.CharField(label=_("Name"), max_length=120)
    source = forms.CharField(label=_("Pushed by"), max_length=120)
    category = forms.ChoiceField(label=_("Category"), choices=PushedCategory.choices)
    deadline = forms.DateTimeField(
        label=_("Deadline"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class RowResultForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Result"), choices=VERIFY_OUTCOMES)
    where = forms.CharField(label=_("Where now"), max_length=100, required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


bootstrap_widgets(PushedListForm, RowResultForm)


class SweepForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    scope = forms.MultipleChoiceField(
        label=_("Villages or grids"), choices=(), widget=forms.CheckboxSelectMultiple
    )
    starts_on = forms.DateField(label=_("From"), widget=_DATE)
    ends_on = forms.DateField(label=_("Until"), widget=_DATE)
    arrival_days = forms.IntegerField(
        label=_("Ask about arrivals of the last (days)"), min_value=1, max_value=60, initial=14
    )
    questions = forms.MultipleChoiceField(
        label=_("Questions"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=(
            ("arrived", _("Arrivals (who, from where, when)")),
            ("vaccine", _("Vaccine doses")),
            ("needs", _("Special needs of the household")),
        ),
        initial=["arrived", "vaccine", "needs"],
    )
    extra = forms.CharField(
        label=_("More yes/no questions, one per line"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, nodes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.nodes = {n.code: n for n in nodes}
        self.fields["scope"].choices = [(n.code, n.name) for n in nodes]  # type: ignore[attr-defined]

    def clean_extra(self) -> list[str]:
        lines = [
            _plain(line, _("More questions")) for line in self.cleaned_data["extra"].splitlines()
        ]
        return [line[:100] for line in lines if line][:10]

    def scope_nodes(self) -> list[Jurisdiction]:
        return [self.nodes[c] for c in self.cleaned_data["scope"]]

    def build_questions(self) -> list[dict[str, Any]]:
        from fangkong.screening.sweeps import default_questions

        chosen = set(self.cleaned_data["questions"])
        keep = {"arrived", "arrived_from", "arrived_on"} if "arrived" in chosen else set()
        keep |= chosen - {"arrived"}
        questions = [
            q for q in default_questions(self.cleaned_data["arrival_days"]) if q["key"] in keep
        ]
        for i, text in enumerate(self.cleaned_data["extra"], 1):
            questions.append({"key": f"q{i}", "kind": "bool", "per": "person", "label": text})
        return questions


bootstrap_widgets(SweepForm)


class DeadlineForm(forms.Form):
    category = forms.ChoiceField(choices=Category.choices, widget=forms.HiddenInput)
    hours = forms.DecimalField(
        max_digits=5,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"step": "0.5", "min": "0.5", "max": "168"}),
    )

    def clean_hours(self) -> Any:
        hours = self.cleaned_data["hours"]
        if not 0 < hours <= 168:
            raise ValidationError(_("Between half an hour and a week (168 hours)."))
        return hours


DeadlineFormSet = forms.formset_factory(DeadlineForm, extra=0)
bootstrap_widgets(DeadlineForm)
