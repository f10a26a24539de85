from django.urls import URLPattern, URLResolver, path, re_path

from fangkong.screening import views, views_pushed, views_sweeps

app_name = "screening"
urlpatterns: list[URLPattern | URLResolver] = [
    path("returnees/", views.returnee_list, name="returnees"),
    path("returnees/new/", views.staff_report, name="staff_report"),
    path("deadlines/", views.deadlines, name="deadlines"),
    path("r/<id:report_id>/", views.report_detail, name="report"),
    path("poster/", views.poster, name="posters"),  # the top of the viewer's area
    path("poster/<str:code>/", views.poster, name="poster"),
    path("lists/", views_pushed.list_index, name="lists"),
    path("lists/new/", views_pushed.list_new, name="list_new"),
    path("lists/import/<id:pushed_job_id>/", views_pushed.list_mapping, name="list_mapping"),
    path("lists/<id:list_id>/", views_pushed.list_detail, name="list"),
    re_path(
        r"^lists/(?P<list_id>[0-9]+)/feedback\.(?P<fmt>xlsx|csv)$",
        views_pushed.list_feedback,
        name="list_feedback",
    ),
    path("rows/<id:row_id>/", views_pushed.row_detail, name="row"),
    path("rows/<id:row_id>/act/", views_pushed.row_act, name="row_act"),
    path("sweeps/", views_sweeps.sweep_list, name="sweeps"),
    path("sweeps/new/", views_sweeps.sweep_new, name="sweep_new"),
    path("sweeps/<id:sweep_id>/", views_sweeps.sweep_detail, name="sweep"),
    path("sweeps/visit/<id:order_id>/", views_sweeps.sweep_visit, name="sweep_visit"),
    path(
        "sweeps/visit/<id:order_id>/save/", views_sweeps.sweep_visit_save, name="sweep_visit_save"
    ),
]
