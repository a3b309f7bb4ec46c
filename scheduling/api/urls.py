"""API routes of this area, under /api/v1/."""

urlpatterns: list = []

# --- Bookings and doses (issue 5) -----------------------------------------------------------
from django.urls import path  # noqa: E402

from scheduling.api import bookings as _dosing_api  # noqa: E402

urlpatterns += [
    path("bookings/", _dosing_api.BookingListCreate.as_view(), name="api-bookings"),
    path("bookings/<int:pk>/", _dosing_api.BookingDetail.as_view(), name="api-booking"),
    path(
        "bookings/<int:pk>/cancel/", _dosing_api.BookingCancel.as_view(), name="api-booking-cancel"
    ),
    path(
        "bookings/<int:pk>/missed/", _dosing_api.BookingMissed.as_view(), name="api-booking-missed"
    ),
    path(
        "bookings/<int:pk>/reschedule/",
        _dosing_api.BookingReschedule.as_view(),
        name="api-booking-reschedule",
    ),
    path("doses/", _dosing_api.DoseListCreate.as_view(), name="api-doses"),
    path("doses/<int:pk>/", _dosing_api.DoseDetail.as_view(), name="api-dose"),
    path(
        "doses/<int:pk>/measurement/",
        _dosing_api.DoseMeasurement.as_view(),
        name="api-dose-measurement",
    ),
    path(
        "doses/<int:pk>/administration/",
        _dosing_api.DoseAdministration.as_view(),
        name="api-dose-administration",
    ),
    path("doses/<int:pk>/cancel/", _dosing_api.DoseCancel.as_view(), name="api-dose-cancel"),
]

# --- Production plans (issue 6) -------------------------------------------------------------
urlpatterns += [
    path("plans/", _dosing_api.PlanListCreate.as_view(), name="api-plans"),
    path("plans/<int:pk>/", _dosing_api.PlanDetail.as_view(), name="api-plan"),
    path("plans/<int:pk>/accept/", _dosing_api.PlanAccept.as_view(), name="api-plan-accept"),
]

from scheduling.api import batch_activity  # noqa: E402

urlpatterns += [
    path(
        "batches/<int:pk>/activity/",
        batch_activity.BatchActivity.as_view(),
        name="api-batch-activity",
    ),
]
