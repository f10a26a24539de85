"""The short public path printed on place-code posters."""

from django.urls import URLPattern, path

from fangkong.places import views_public

urlpatterns: list[URLPattern] = [
    path("<str:place_code>/", views_public.scan, name="scan"),
]
