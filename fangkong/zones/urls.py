from django.urls import URLPattern, URLResolver, path

from fangkong.zones import views

app_name = "zones"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.zone_list, name="zones"),
    path("new/", views.zone_new, name="zone_new"),
    path("z/<id:zone_id>/", views.zone_detail, name="zone"),
    path("z/<id:zone_id>/lift/", views.zone_lift_page, name="lift"),
    path("places/", views.place_list, name="places"),
    path("places/new/", views.place_new, name="place_new"),
    path("places/<id:place_id>/", views.place_detail, name="place"),
    path("places/<id:place_id>/add/", views.place_child, name="place_child"),
    path("places/<id:place_id>/delineate/", views.place_delineate, name="delineate"),
]
