from django.urls import URLPattern, URLResolver, path

from fangkong.control import urls_recheck, views, views_sites

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
    path("o/<id:control_id>/team/", views_sites.order_team, name="team"),
    path("sites/", views_sites.site_list, name="sites"),
    path("sites/new/", views_sites.site_new, name="site_new"),
    path("sites/<id:site_id>/", views_sites.site_detail, name="site"),
    path("sites/<id:site_id>/edit/", views_sites.site_edit, name="site_edit"),
    path("sites/<id:site_id>/rooms/", views_sites.room_add, name="room_add"),
    path("sites/<id:site_id>/staff/", views_sites.site_staff, name="site_staff"),
    path("rooms/<id:room_id>/", views_sites.room_edit, name="room"),
    path("transfers/", views_sites.transfer_list, name="transfers"),
    path("transfers/new/", views_sites.transfer_new, name="transfer_new"),
    path("transfers/<id:transfer_id>/", views_sites.transfer_detail, name="transfer"),
    path("transfers/<id:transfer_id>/depart/", views_sites.transfer_depart, name="transfer_depart"),
    path(
        "transfers/<id:transfer_id>/receive/",
        views_sites.transfer_receive,
        name="transfer_receive",
    ),
    *urls_recheck.urlpatterns,
]
