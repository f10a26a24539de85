from django.urls import URLPattern, path

app_name = "notify"
urlpatterns: list[URLPattern] = []
