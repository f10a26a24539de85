"""Form helpers shared by the apps."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def bootstrap_widgets(*form_classes: type[forms.Form] | type[forms.ModelForm]) -> None:  # type: ignore[type-arg]
    """Give every widget Bootstrap's classes once, instead of per template."""
    for form_class in form_classes:
        for field in form_class.base_fields.values():
            widget = field.widget
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
