"""Form helpers shared by the apps."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms.widgets import DateTimeBaseInput

# A browser's date and time pickers accept only ISO values (HTML's "valid date string")
# and silently drop anything else. Django formats a widget's value in the active
# language's first input format (zh-Hans: 2026/12/06), so a prefilled picker came up
# empty and a required one refused the form.
PICKERS: tuple[tuple[type[DateTimeBaseInput], str, str], ...] = (
    (forms.DateTimeInput, "datetime-local", "%Y-%m-%dT%H:%M"),
    (forms.DateInput, "date", "%Y-%m-%d"),
    (forms.TimeInput, "time", "%H:%M"),
)


def iso_picker(widget: DateTimeBaseInput) -> None:
    """Make a date, date-time or time widget the browser's picker, fed ISO values."""
    for kind, input_type, iso in PICKERS:
        if isinstance(widget, kind):
            widget.input_type = input_type
            widget.format = iso
            return


def bootstrap_widgets(*form_classes: type[forms.Form] | type[forms.ModelForm]) -> None:  # type: ignore[type-arg]
    """Give every widget Bootstrap's classes once, instead of per template, and every
    date or time widget the browser's picker with ISO values."""
    for form_class in form_classes:
        for field in form_class.base_fields.values():
            widget = field.widget
            if isinstance(widget, DateTimeBaseInput):
                iso_picker(widget)
            if isinstance(widget, forms.CheckboxSelectMultiple):
                continue
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


def add_validation_errors(
    form: forms.Form, exc: ValidationError, *, rename: dict[str, str] | None = None
) -> None:
    """Show a service's ValidationError on the form: per field where the form has that
    field (after `rename`), otherwise as a form-wide error."""
    rename = rename or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        target = rename.get(field, field)
        form.add_error(target if target in form.fields else None, messages)
