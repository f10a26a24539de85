"""Routes of the two-phase spreadsheet import (owned by the import module)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
