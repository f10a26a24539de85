from django.urls import URLPattern, path

from fangkong.notify import views

app_name = "notify"
urlpatterns: list[URLPattern] = [
    path("channels/", views.channel_list, name="channels"),
    path("channels/new/", views.channel_new, name="channel_new"),
    path("channels/<id:channel_id>/", views.channel_edit, name="channel"),
    path("channels/<id:channel_id>/test/", views.channel_test, name="channel_test"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_new, name="template_new"),
    path("templates/<id:template_id>/", views.template_edit, name="template"),
    path("broadcast/", views.broadcast, name="broadcast"),
    path("deliveries/", views.delivery_list, name="deliveries"),
    path("deliveries/<id:delivery_id>/retry/", views.delivery_retry, name="delivery_retry"),
]
