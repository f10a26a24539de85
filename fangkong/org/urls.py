from django.urls import path, re_path

from fangkong.org import views, views_clients, views_manage

app_name = "org"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("j/<str:code>/", views.node, name="node"),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/new/", views_manage.staff_create, name="staff_create"),
    path("staff/<id:staff_id>/", views.staff_detail, name="staff_detail"),
    path("staff/<id:staff_id>/unmask/", views.staff_unmask, name="staff_unmask"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/new/", views_manage.team_create_view, name="team_create"),
    path("teams/<id:team_id>/", views.team_detail, name="team_detail"),
    path("teams/<id:team_id>/members/", views_manage.team_members, name="team_members"),
    path("clients/", views_clients.client_list, name="client_list"),
    path("clients/<id:client_id>/revoke/", views_clients.client_revoke, name="client_revoke"),
    path("import/", views.tree_import, name="tree_import"),
    path("import/<id:upload_id>/confirm/", views.tree_import_confirm, name="tree_import_confirm"),
    re_path(r"^export\.(?P<fmt>xlsx|csv)$", views.tree_export, name="tree_export"),
    re_path(r"^staff/export\.(?P<fmt>xlsx|csv)$", views.staff_export, name="staff_export"),
]
