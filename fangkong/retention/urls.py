from django.urls import URLPattern, path

from fangkong.retention import views

app_name = "retention"
urlpatterns: list[URLPattern] = [
    path("", views.retention_rules, name="rules"),
]
