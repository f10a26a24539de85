from django.urls import URLPattern, URLResolver, path

from fangkong.assist import views, views_care, views_settings, views_supplies

app_name = "assist"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.request_list, name="requests"),
    path("times/", views.response_times, name="times"),
    path("settings/", views_settings.assist_settings_page, name="settings"),
    path("q/<id:request_id>/", views.request_detail, name="request"),
    path("q/<id:request_id>/handover/", views.request_handover_page, name="handover"),
    path("person/<id:person_id>/new/", views.request_new, name="request_new"),
    path("r/<str:token>/", views.ask, name="ask"),
    path("stores/", views_supplies.store_list, name="stores"),
    path("stores/new/", views_supplies.store_new, name="store_new"),
    path("stores/<id:store_id>/", views_supplies.store_detail, name="store"),
    path("stores/<id:store_id>/receive/", views_supplies.store_receive, name="receive"),
    path("stores/<id:store_id>/package/", views_supplies.store_package, name="package"),
    path("stores/<id:store_id>/meals/", views_care.store_meals, name="meals"),
    path("stores/<id:store_id>/alerts/", views_supplies.store_alerts, name="alerts"),
    path("care/", views_care.care_list, name="care"),
    path("care/<id:person_id>/", views_care.care_edit, name="care_edit"),
]
