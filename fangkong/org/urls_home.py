from django.urls import path

from fangkong.org import views_home

app_name = "home"
urlpatterns = [path("", views_home.home, name="home")]
