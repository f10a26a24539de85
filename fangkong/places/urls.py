from django.urls import URLPattern, URLResolver, path

from fangkong.places import views

app_name = "places"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.place_list, name="places"),
    path("new/", views.place_new, name="place_new"),
    path("mine/", views.my_places, name="mine"),
    path("p/<id:venue_id>/", views.place_detail, name="place"),
    path("p/<id:venue_id>/poster/", views.place_poster, name="poster"),
    path("p/<id:venue_id>/act/", views.place_act, name="act"),
    path("p/<id:venue_id>/log/", views.place_log, name="log"),
    path("p/<id:venue_id>/penalty/", views.place_penalty, name="penalty"),
    path("inspect/<str:place_code>/", views.inspect, name="inspect"),
    path("findings/", views.finding_list, name="findings"),
    path("routes/", views.route_list, name="routes"),
    path("routes/new/", views.route_new, name="route_new"),
    path("routes/<id:route_id>/", views.route_detail, name="route"),
    path("gatherings/", views.gathering_list, name="gatherings"),
    path("gatherings/new/", views.gathering_new, name="gathering_new"),
]
