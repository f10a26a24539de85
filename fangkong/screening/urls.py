from django.urls import URLPattern, path

from fangkong.screening import views

app_name = "screening"
urlpatterns: list[URLPattern] = [
    path("returnees/", views.returnee_list, name="returnees"),
    path("returnees/new/", views.staff_report, name="staff_report"),
    path("r/<int:report_id>/", views.report_detail, name="report"),
    path("poster/<str:code>/", views.poster, name="poster"),
]
