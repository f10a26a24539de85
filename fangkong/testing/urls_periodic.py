from django.urls import URLPattern, URLResolver, path, re_path

from fangkong.testing import views_periodic as views

app_name = "testing_periodic"
urlpatterns: list[URLPattern | URLResolver] = [
    path("periodic/", views.overdue_page, name="overdue"),
    re_path(r"^periodic/overdue\.(?P<fmt>xlsx|csv)$", views.overdue_export, name="overdue_export"),
    path("periodic/chase/", views.overdue_chase, name="chase"),
    path("periodic/person/<id:person_id>/", views.person_occupation, name="person"),
    path("r/<id:round_id>/doorstep/", views.round_doorstep, name="round_doorstep"),
    path("doorstep/<id:team_id>/", views.team_doorstep, name="team_doorstep"),
    path("doorstep/<id:team_id>/send/", views.team_doorstep_send, name="team_doorstep_send"),
]
