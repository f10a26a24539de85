from django.urls import path

from fangkong.org import views_home

app_name = "home"
urlpatterns = [
    path("", views_home.home, name="home"),
    path("sw.js", views_home.service_worker, name="sw"),
]
