from django.urls import URLPattern, URLResolver, path, re_path

from fangkong.screening import views, views_pushed

app_name = "screening"
urlpatterns: list[URLPattern | URLResolver] = [
    path("returnees/", views.returnee_list, name="returnees"),
    path("returnees/new/", views.staff_report, name="staff_report"),
    path("r/<int:report_id>/", views.report_detail, name="report"),
    path("poster/<str:code>/", views.poster, name="poster"),
    path("lists/", views_pushed.list_index, name="lists"),
    path("lists/new/", views_pushed.list_new, name="list_new"),
    path("lists/<int:list_id>/", views_pushed.list_detail, name="list"),
    re_path(
        r"^lists/(?P<list_id>[0-9]+)/feedback\.(?P<fmt>xlsx|csv)$",
        views_pushed.list_feedback,
        name="list_feedback",
    ),
    path("rows/<int:row_id>/", views_pushed.row_detail, name="row"),
    path("rows/<int:row_id>/act/", views_pushed.row_act, name="row_act"),
]
