"""Person and household forms. Cleaning is delegated to validation.clean_person, so a
form accepts exactly what an import accepts, with the same messages."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.core.forms import bootstrap_widgets
from fangkong.core.masking import mask_id_number, mask_phone
from fangkong.people.models import (
    HousingType,
    IdType,
    PersonStatus,
    Relationship,
    Residency,
    Sex,
    Tag,
)
from fangkong.people.services import PERSON_FIELDS
from fangkong.people.validation import CleanPerson, clean_person

_BLANK: list[tuple[str, Any]] = [("", "—")]

# Held encrypted and never put back into a page: an edit form shows them masked, a
# blank input keeps the stored value and "remove" clears it.
SECRET_FIELDS: dict[str, Any] = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "phone2": mask_phone,
}


class PersonForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=50)
    id_type = forms.ChoiceField(
        label=_("ID type"), choices=IdType.choices, initial=IdType.RESIDENT_ID
    )
    id_number = forms.CharField(label=_("ID number"), max_length=30, required=False)
    id_number_clear = forms.BooleanField(label=_("Remove the ID number"), required=False)
    no_id_reason = forms.CharField(label=_("Reason for no ID"), max_length=100, required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=_BLANK + Sex.choices, required=False)
    birth_date = forms.CharField(
        label=_("Birth date"),
        max_length=20,
        required=False,
        help_text=_("Taken from the ID number when there is one."),
    )
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    phone_clear = forms.BooleanField(label=_("Remove the phone"), required=False)
    phone2 = forms.CharField(label=_("Second phone"), max_length=20, required=False)
    phone2_clear = forms.BooleanField(label=_("Remove the second phone"), required=False)
    relationship = forms.ChoiceField(
        label=_("Relationship to head"), choices=_BLANK + Relationship.choices, required=False
    )
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
    tags = forms.MultipleChoiceField(
        label=_("Special groups and key occupations"),
        choices=Tag.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, today: date, current: Any = None, **kwargs: Any) -> None:
        """`current`: the person being edited, whose ID number and phones stay on the
        server: the inputs start empty, with the masked value beside them."""
        super().__init__(*args, **kwargs)
        self.today = today
        self.person: CleanPerson | None = None
        self.stored: dict[str, str] = {}
        for name, mask in SECRET_FIELDS.items():
            value = getattr(current, name, "") or ""
            if value:
                self.stored[name] = value
                self.fields[name].help_text = _("Now %(masked)s; leave blank to keep it.") % {
                    "masked": mask(value)
                }
            else:
                del self.fields[f"{name}_clear"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = dict(data) | {"tags": ",".join(data.get("tags") or [])}
        for name, value in self.stored.items():
            if data.get(f"{name}_clear"):
                raw[name] = ""
            elif not raw.get(name):
                raw[name] = value
        person, errors = clean_person(raw, today=self.today)
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, self._masked(message))
        self.person = person
        return data

    def _masked(self, message: str) -> str:
        """A message about a kept value (one that no longer passes) names it masked."""
        for name, value in self.stored.items():
            message = message.replace(value, SECRET_FIELDS[name](value))
        return message

    @staticmethod
    def initial_from(person: Any) -> dict[str, Any]:
        def text(value: Any) -> str:
            return value.isoformat() if isinstance(value, date) else (value or "")

        # Not the ID number and phones: see SECRET_FIELDS.
        fields = [f for f in PERSON_FIELDS if f not in SECRET_FIELDS]
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


def _text(placeholder: Any) -> forms.TextInput:
    return forms.TextInput(attrs={"placeholder": placeholder})


class PersonFilterForm(forms.Form):
    """The registry's filters. Each box has a visible label, and an empty box says what
    it means ("All ages"), not "—": a 70-year-old cadre reads the form, not a manual."""

    q = forms.CharField(
        label=_("Name, initials, phone, ID or its last 4"),
        required=False,
        max_length=30,
        widget=_text(_("For example: Zhang Wei, zw, or 1234")),
    )
    age = forms.ChoiceField(
        label=_("Age"),
        choices=[("", _("All ages")), *[(k, k) for k in ("0-2", "3-17", "18-59", "60+", "80+")]],
        required=False,
    )
    tag = forms.ChoiceField(
        label=_("Group"), choices=[("", _("All groups")), *Tag.choices], required=False
    )
    residency = forms.ChoiceField(
        label=_("Residency"),
        choices=[("", _("Any residency")), *Residency.choices],
        required=False,
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *PersonStatus.choices], required=False
    )
    node = forms.CharField(
        label=_("Village or grid code"),
        required=False,
        max_length=40,
        widget=_text(_("Blank: your whole area")),
    )
    address = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=60,
        widget=_text(_("Street, building or house number")),
    )


bootstrap_widgets(PersonForm, HouseholdForm, PersonFilterForm)
