from django.urls import URLPattern, URLResolver, path

from fangkong.response import views

app_name = "response"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("here/", views.here, name="here"),
    path("plans/<id:plan_id>/", views.plan_detail, name="plan"),
    path("plans/<id:plan_id>/copy/", views.plan_copy, name="plan_copy"),
    path("plans/<id:plan_id>/activate/", views.activate, name="activate"),
    path("activations/<id:activation_id>/", views.activation_detail, name="activation"),
    path("levels/", views.levels, name="levels"),
    path("levels/<str:code>/", views.level_node, name="level"),
    path("levels/<str:code>/switch/", views.level_switch, name="level_switch"),
]
