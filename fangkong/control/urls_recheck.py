"""Routes of the re-check's review list (included by control/urls.py)."""

from django.urls import URLPattern, path

from fangkong.control import views_recheck

urlpatterns: list[URLPattern] = [
    path("recheck/", views_recheck.review_list, name="recheck"),
    path("recheck/batch/", views_recheck.batch, name="recheck_batch"),
    path("recheck/<id:proposal_id>/", views_recheck.proposal_detail, name="recheck_proposal"),
    path("recheck/<id:proposal_id>/accept/", views_recheck.proposal_accept, name="recheck_accept"),
    path("recheck/<id:proposal_id>/reject/", views_recheck.proposal_reject, name="recheck_reject"),
]
