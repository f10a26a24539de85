from django.urls import URLPattern, URLResolver, path, re_path

from fangkong.testing import views

app_name = "testing"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.round_list, name="rounds"),
    path("r/<id:round_id>/", views.round_detail, name="round"),
    path("r/<id:round_id>/sample/", views.sampler, name="sampler"),
    path("r/<id:round_id>/lookup/", views.lookup, name="lookup"),
    path("r/<id:round_id>/results/", views.results_upload, name="results"),
    # The round comes with the form (the held file belongs to its sender alone).
    path("results/<id:results_upload_id>/confirm/", views.results_confirm, name="results_confirm"),
    re_path(
        r"^r/(?P<round_id>[1-9][0-9]{0,17})/not-tested\.(?P<fmt>xlsx|csv)$",
        views.not_tested_export,
        name="not_tested_export",
    ),
    path("code/<id:person_id>/", views.resident_code_page, name="code"),
]
