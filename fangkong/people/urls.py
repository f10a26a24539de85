from django.urls import URLPattern, URLResolver

from fangkong.people.urls_import import urlpatterns as import_patterns

app_name = "people"
urlpatterns: list[URLPattern | URLResolver] = [
    *import_patterns,
]
