from django.urls import URLPattern, path, re_path

from fangkong.workorders import views_command, views_field

app_name = "workorders"
urlpatterns: list[URLPattern] = [
    path("tasks/", views_field.my_tasks, name="my_tasks"),
    path("tasks/<id:order_id>/", views_field.task_detail, name="task"),
    path("tasks/<id:order_id>/result/", views_field.task_result, name="task_result"),
    path("tasks/<id:order_id>/act/", views_field.task_act, name="task_act"),
    path("tasks/<id:order_id>/call/", views_field.task_call, name="task_call"),
    path("tasks/<id:order_id>/photos/", views_field.task_photo_add, name="photo_add"),
    path("tasks/photos/<id:photo_id>/", views_field.task_photo, name="photo"),
    path("inbox/", views_field.inbox, name="inbox"),
    path("orders/", views_command.order_list, name="order_list"),
    path("orders/board/", views_command.board, name="board"),
    re_path(
        r"^orders/board/export\.(?P<fmt>xlsx|csv)$", views_command.board_export, name="board_export"
    ),
    path("orders/dispatch/", views_command.dispatch_from_list, name="dispatch"),
    path("orders/escalation/", views_command.escalation_rules, name="escalation_rules"),
    path("orders/<id:order_id>/manage/", views_command.order_manage, name="manage"),
]
