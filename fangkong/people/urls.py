from django.urls import URLPattern, URLResolver, path, re_path

from fangkong.people import views
from fangkong.people.urls_import import urlpatterns as import_patterns

app_name = "people"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.person_list, name="person_list"),
    path("p/<id:person_id>/", views.person_detail, name="person_detail"),
    path("p/<id:person_id>/unmask/", views.person_unmask, name="person_unmask"),
    path("p/<id:person_id>/edit/", views.person_edit, name="person_edit"),
    path("h/new/", views.household_new, name="household_new"),
    path("h/<id:household_id>/", views.household_detail, name="household_detail"),
    path("h/<id:household_id>/add/", views.person_create, name="person_create"),
    path("registers/", views.registers, name="registers"),
    path("registers/<slug:register_key>/", views.register, name="register"),
    re_path(r"^export\.(?P<fmt>xlsx|csv)$", views.person_export, name="person_export"),
    *import_patterns,
]
