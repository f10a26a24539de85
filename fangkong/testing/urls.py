from django.urls import URLPattern, URLResolver, path, re_path

from fangkong.testing import views, views_manage

app_name = "testing"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.round_list, name="rounds"),
    path("new/", views_manage.round_new, name="round_new"),
    path("r/<id:round_id>/", views.round_detail, name="round"),
    path("r/<id:round_id>/points/", views_manage.points, name="points"),
    path("r/<id:round_id>/boxes/out/", views_manage.boxes_out, name="boxes_out"),
    path("r/<id:round_id>/boxes/in/", views_manage.boxes_in, name="boxes_in"),
    path("r/<id:round_id>/chase/", views_manage.chase_send, name="chase"),
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
    # The resident's own link (no account): their code and their own results.
    path("me/<str:token>/", views.my_results, name="mine"),
]
