"""Routes of the two-phase spreadsheet import (owned by the import module)."""

from django.urls import URLPattern, path

from fangkong.people import views_import

urlpatterns: list[URLPattern] = [
    path("import/", views_import.import_upload, name="import_upload"),
    path("import/<id:job_id>/", views_import.import_preview, name="import_preview"),
    path("import/<id:job_id>/commit/", views_import.import_commit, name="import_commit"),
    path("import/<id:job_id>/progress/", views_import.import_progress, name="import_progress"),
]
