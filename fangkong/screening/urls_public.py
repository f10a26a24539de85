"""Short public paths (they are printed on posters as QR codes)."""

from django.urls import URLPattern, path

from fangkong.screening import views

urlpatterns: list[URLPattern] = [
    path("status/", views.public_status, name="status"),
    path("<str:code>/", views.public_report, name="report"),
]
