from django.urls import URLPattern, URLResolver, path, re_path

from fangkong.vaccination import views

app_name = "vaccination"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.coverage_page, name="coverage"),
    path("mobilise/", views.mobilisation_page, name="mobilisation"),
    re_path(
        r"^mobilise/list\.(?P<fmt>xlsx|csv)$",
        views.mobilisation_export,
        name="mobilisation_export",
    ),
    path("mobilise/send/", views.mobilise, name="mobilise"),
    path("import/", views.import_upload, name="import"),
    path("import/<id:vaccination_upload_id>/confirm/", views.import_confirm, name="import_confirm"),
    path("person/<id:person_id>/", views.person_page, name="person"),
    path("person/<id:person_id>/dose/", views.person_dose, name="dose"),
    path(
        "person/<id:person_id>/contraindication/",
        views.person_contraindication,
        name="contraindication",
    ),
    path("person/<id:person_id>/transport/", views.person_transport, name="transport"),
]
