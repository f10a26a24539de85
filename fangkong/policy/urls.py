from django.urls import URLPattern, path

from fangkong.policy import views

app_name = "policy"
urlpatterns: list[URLPattern] = [
    path("areas/", views.area_list, name="areas"),
    path("areas/new/", views.area_new, name="area_new"),
    path("areas/import/", views.area_import, name="area_import"),
    path("areas/<id:area_id>/", views.area_detail, name="area"),
    path("editions/", views.edition_list, name="editions"),
    path("editions/<id:edition_id>/", views.edition_detail, name="edition"),
    path("editions/<id:edition_id>/copy/", views.edition_copy, name="edition_copy"),
    path("check/", views.check, name="check"),
    path("divisions/", views.division_options, name="divisions"),
]
