"""Web page routes of this area."""

urlpatterns: list = []

# --- Bookings and doses (issue 5) -----------------------------------------------------------
from django.urls import path  # noqa: E402

from scheduling.web import bookings as _dosing_views  # noqa: E402

urlpatterns += [
    path("bookings/", _dosing_views.BookingListView.as_view(), name="booking-list"),
    path("bookings/new/", _dosing_views.BookingCreateView.as_view(), name="booking-create"),
    path("bookings/<int:pk>/", _dosing_views.BookingDetailView.as_view(), name="booking-detail"),
    path(
        "bookings/<int:pk>/reschedule/",
        _dosing_views.BookingRescheduleView.as_view(),
        name="booking-reschedule",
    ),
    path(
        "bookings/<int:pk>/cancel/",
        _dosing_views.BookingCancelView.as_view(),
        name="booking-cancel",
    ),
    path(
        "bookings/<int:pk>/missed/",
        _dosing_views.BookingMissedView.as_view(),
        name="booking-missed",
    ),
    path("doses/", _dosing_views.DoseListView.as_view(), name="dose-list"),
    path("doses/assign/", _dosing_views.DoseAssignView.as_view(), name="dose-assign"),
    path("doses/<int:pk>/", _dosing_views.DoseDetailView.as_view(), name="dose-detail"),
    path("doses/<int:pk>/measure/", _dosing_views.DoseMeasureView.as_view(), name="dose-measure"),
    path(
        "doses/<int:pk>/administer/",
        _dosing_views.DoseAdministerView.as_view(),
        name="dose-administer",
    ),
    path("doses/<int:pk>/cancel/", _dosing_views.DoseCancelView.as_view(), name="dose-cancel"),
    path("doses/<int:pk>/label/", _dosing_views.DoseLabelView.as_view(), name="dose-label"),
]

# --- Production plans (issue 6) -------------------------------------------------------------
from scheduling.web import plans as _plan_views  # noqa: E402

urlpatterns += [
    path("plan/", _plan_views.PlanDayView.as_view(), name="plan-day"),
    path("plan/compute/", _plan_views.PlanComputeView.as_view(), name="plan-compute"),
    path("plan/<int:pk>/accept/", _plan_views.PlanAcceptView.as_view(), name="plan-accept"),
]
