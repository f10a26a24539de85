"""Person and household forms. Cleaning is delegated to validation.clean_person, so a
form accepts exactly what an import accepts, with the same messages."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.core.forms import bootstrap_widgets
from fangkong.people.models import (
    HousingType,
    IdType,
    PersonStatus,
    Relationship,
    Residency,
    Sex,
    Tag,
)
from fangkong.people.validation import CleanPerson, clean_person

_BLANK: list[tuple[str, Any]] = [("", "—")]


class PersonForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=50)
    id_type = forms.ChoiceField(
        label=_("ID type"), choices=IdType.choices, initial=IdType.RESIDENT_ID
    )
    id_number = forms.CharField(label=_("ID number"), max_length=30, required=False)
    no_id_reason = forms.CharField(label=_("Reason for no ID"), max_length=100, required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=_BLANK + Sex.choices, required=False)
    birth_date = forms.CharField(label=_("Birth date"), max_length=20, required=False,
                                 help_text=_("Taken from the ID number when there is one."))  # fmt: skip
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    phone2 = forms.CharField(label=_("Second phone"), max_length=20, required=False)
    relationship = forms.ChoiceField(label=_("Relationship to head"),
                                     choices=_BLANK + Relationship.choices, required=False)  # fmt: skip
    residency = forms.ChoiceField(
        label=_("Residency"), choices=Residency.choices, initial=Residency.HUJI
    )
    arrival_date = forms.CharField(label=_("Arrived on"), max_length=20, required=False)
    occupation = forms.CharField(label=_("Occupation"), max_length=60, required=False)
    workplace = forms.CharField(label=_("Workplace"), max_length=100, required=False)
    status = forms.ChoiceField(
        label=_("Status"), choices=PersonStatus.choices, initial=PersonStatus.PRESENT
    )
    away_since = forms.CharField(label=_("Away since"), max_length=20, required=False)
    away_where = forms.CharField(label=_("Away where"), max_length=100, required=False)
    tags = forms.MultipleChoiceField(label=_("Special groups and key occupations"),
                                     choices=Tag.choices, required=False,
                                     widget=forms.CheckboxSelectMultiple)  # fmt: skip

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.person: CleanPerson | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = dict(data) | {"tags": ",".join(data.get("tags") or [])}
        person, errors = clean_person(raw, today=self.today)
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        self.person = person
        return data

    @staticmethod
    def initial_from(person: Any) -> dict[str, Any]:
        def text(value: Any) -> str:
            return value.isoformat() if isinstance(value, date) else (value or "")

        fields = ("name", "id_type", "id_number", "no_id_reason", "sex", "birth_date", "phone",
                  "phone2", "relationship", "residency", "arrival_date", "occupation", "workplace",
                  "status", "away_since", "away_where")  # fmt: skip
        return {f: text(getattr(person, f)) for f in fields} | {
            "tags": list(person.tags.values_list("tag", flat=True))
        }


class HouseholdForm(forms.Form):
    node = forms.CharField(label=_("Grid or micro-grid code"), max_length=40)
    village_group = forms.CharField(label=_("Villager group"), max_length=30, required=False)
    street = forms.CharField(label=_("Street / road"), max_length=60, required=False)
    house_number = forms.CharField(label=_("Number"), max_length=20, required=False)
    building = forms.CharField(label=_("Building"), max_length=20, required=False)
    unit = forms.CharField(label=_("Unit"), max_length=20, required=False)
    room = forms.CharField(label=_("Room"), max_length=20, required=False)
    housing_type = forms.ChoiceField(label=_("Housing"), choices=HousingType.choices)
    landlord_name = forms.CharField(label=_("Landlord"), max_length=50, required=False)
    landlord_phone = forms.CharField(label=_("Landlord phone"), max_length=20, required=False)


class PersonFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Name, initials, phone, ID or its last 4"), required=False, max_length=30
    )
    node = forms.CharField(label=_("Jurisdiction code"), required=False, max_length=40)
    address = forms.CharField(label=_("Address"), required=False, max_length=60)
    tag = forms.ChoiceField(label=_("Group"), choices=_BLANK + Tag.choices, required=False)
    residency = forms.ChoiceField(
        label=_("Residency"), choices=_BLANK + Residency.choices, required=False
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=_BLANK + PersonStatus.choices, required=False
    )
    age = forms.ChoiceField(
        label=_("Age"),
        choices=_BLANK + [(k, k) for k in ("0-2", "3-17", "18-59", "60+", "80+")],
        required=False,
    )


bootstrap_widgets(PersonForm, HouseholdForm, PersonFilterForm)
