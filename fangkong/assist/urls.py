from django.urls import URLPattern, URLResolver, path

from fangkong.assist import views

app_name = "assist"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.request_list, name="requests"),
    path("times/", views.response_times, name="times"),
    path("q/<id:request_id>/", views.request_detail, name="request"),
    path("q/<id:request_id>/handover/", views.request_handover_page, name="handover"),
    path("person/<id:person_id>/new/", views.request_new, name="request_new"),
    path("r/<str:token>/", views.ask, name="ask"),
]
