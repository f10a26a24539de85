from django.urls import URLPattern, path

from fangkong.reports import views

app_name = "reports"
urlpatterns: list[URLPattern] = [
    path("", views.overview, name="overview"),
    path("village/<str:village>/", views.village_report, name="village"),
    path("team/<id:team_id>/", views.team_report, name="team"),
    path("team/<id:team_id>/reporting/", views.team_reporting, name="team_reporting"),
    path("bulletins/", views.bulletin_list, name="bulletins"),
    path("bulletins/make/", views.bulletin_make, name="bulletin_make"),
    path("bulletins/<id:bulletin_id>/", views.bulletin_detail, name="bulletin"),
    path(
        "bulletins/<id:bulletin_id>/bulletin.<str:doc>",
        views.bulletin_download,
        name="bulletin_download",
    ),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/panel/", views.dashboard_panel, name="dashboard_panel"),
    path("settings/", views.report_settings, name="settings"),
]
