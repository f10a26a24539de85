from django.urls import URLPattern, URLResolver, path

from fangkong.checkpoints import views

app_name = "checkpoints"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.post_list, name="posts"),
    path("new/", views.post_new, name="post_new"),
    path("<id:post_id>/", views.post_detail, name="post"),
    path("<id:post_id>/edit/", views.post_edit, name="post_edit"),
    path("<id:post_id>/log/", views.post_log, name="log"),
    path("<id:post_id>/roster/", views.post_roster, name="roster"),
    path("<id:post_id>/transferred/", views.post_transferred, name="transferred"),
    path("<id:post_id>/to-transfer/", views.post_to_transfer, name="to_transfer"),
    path("shifts/<id:shift_id>/", views.shift_page, name="shift"),
]
