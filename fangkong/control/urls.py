from django.urls import URLPattern, URLResolver, path

from fangkong.control import views

app_name = "control"
urlpatterns: list[URLPattern | URLResolver] = [
    # The person's own link (sent by SMS) and the release notice's QR check: no account.
    path("self/<str:token>/", views.self_check, name="self_check"),
]
