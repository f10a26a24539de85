"""Form helpers shared by the apps."""

from __future__ import annotations

from django import forms


def bootstrap_widgets(*form_classes: type[forms.Form]) -> None:
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
