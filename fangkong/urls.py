from django.urls import include, path

from fangkong.api import api

urlpatterns = [
    path("", include("fangkong.org.urls_home")),
    path("accounts/", include("fangkong.accounts.urls")),
    path("org/", include("fangkong.org.urls")),
    path("audit/", include("fangkong.audit.urls")),
    path("people/", include("fangkong.people.urls")),
    path("", include("fangkong.workorders.urls")),
    path("policy/", include("fangkong.policy.urls")),
    path("screening/", include("fangkong.screening.urls")),
    path("control/", include("fangkong.control.urls")),
    path("testing/", include("fangkong.testing.urls")),
    path("testing/", include("fangkong.testing.urls_periodic")),
    path("vaccination/", include("fangkong.vaccination.urls")),
    path("places/", include("fangkong.places.urls")),
    path("zones/", include("fangkong.zones.urls")),
    path("assist/", include("fangkong.assist.urls")),
    path("response/", include("fangkong.response.urls")),
    path("tracing/", include("fangkong.tracing.urls")),
    path("checkpoints/", include("fangkong.checkpoints.urls")),
    path("reports/", include("fangkong.reports.urls")),
    path("notify/", include("fangkong.notify.urls")),
    path("retention/", include("fangkong.retention.urls")),
    path("r/", include(("fangkong.screening.urls_public", "public"))),
    path("s/", include(("fangkong.places.urls_public", "scan"))),
    path("api/v1/", api.urls),
]

handler403 = "fangkong.core.errors.forbidden"
handler404 = "fangkong.core.errors.not_found"
