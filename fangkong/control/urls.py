from django.urls import URLPattern, URLResolver, path

from fangkong.control import urls_recheck, views

app_name = "control"
urlpatterns: list[URLPattern | URLResolver] = [
    # The person's own link (sent by SMS) and the release notice's QR check: no account.
    path("", views.under_control, name="list"),
    path("o/<id:control_id>/", views.order_detail, name="order"),
    path("o/<id:control_id>/check/", views.staff_check, name="check"),
    path("o/<id:control_id>/release/", views.order_release, name="release"),
    path("self/<str:token>/", views.self_check, name="self_check"),
    path("notice/<str:code>/", views.notice_check, name="notice_check"),
    path("o/<id:control_id>/notice.docx", views.notice_download, name="notice_download"),
    *urls_recheck.urlpatterns,
]
