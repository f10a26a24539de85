from django.urls import URLPattern, URLResolver, path, re_path

from fangkong.tracing import views

app_name = "tracing"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("new/", views.case_new, name="new"),
    path("cases/<id:case_id>/", views.case_detail, name="case"),
    path("cases/<id:case_id>/act/", views.case_act, name="act"),
    path("chain/", views.chain, name="chain"),
    path("chain.svg", views.chain_svg, name="chain_svg"),
    re_path(r"^chain\.(?P<fmt>xlsx|csv)$", views.chain_table, name="chain_table"),
]
