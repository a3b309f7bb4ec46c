"""Web page routes of this area."""

from django.urls import path

from scheduling.web import bookings, doses, instrument_files, plans

urlpatterns = [
    path("bookings/", bookings.BookingListView.as_view(), name="booking-list"),
    path("bookings/new/", bookings.BookingCreateView.as_view(), name="booking-create"),
    path("bookings/<id:pk>/", bookings.BookingDetailView.as_view(), name="booking-detail"),
    path(
        "bookings/<id:pk>/reschedule/",
        bookings.BookingRescheduleView.as_view(),
        name="booking-reschedule",
    ),
    path("bookings/<id:pk>/cancel/", bookings.BookingCancelView.as_view(), name="booking-cancel"),
    path("bookings/<id:pk>/missed/", bookings.BookingMissedView.as_view(), name="booking-missed"),
    path("doses/", doses.DoseListView.as_view(), name="dose-list"),
    path("doses/assign/", doses.DoseAssignView.as_view(), name="dose-assign"),
    path(
        "doses/assign/preview/", doses.DoseAssignPreviewView.as_view(), name="dose-assign-preview"
    ),
    path(
        "doses/calibrator-import/",
        instrument_files.DoseCalibratorImportView.as_view(),
        name="dose-calibrator-import",
    ),
    path(
        "doses/calibrator-import/confirm/",
        instrument_files.DoseCalibratorConfirmView.as_view(),
        name="dose-calibrator-confirm",
    ),
    path(
        "doses/calibrator-files/<id:pk>/",
        instrument_files.DoseCalibratorFileView.as_view(),
        name="dose-calibrator-file",
    ),
    path("doses/<id:pk>/", doses.DoseDetailView.as_view(), name="dose-detail"),
    path("doses/<id:pk>/measure/", doses.DoseMeasureView.as_view(), name="dose-measure"),
    path("doses/<id:pk>/administer/", doses.DoseAdministerView.as_view(), name="dose-administer"),
    path("doses/<id:pk>/cancel/", doses.DoseCancelView.as_view(), name="dose-cancel"),
    path("doses/<id:pk>/label/", doses.DoseLabelView.as_view(), name="dose-label"),
    path("plan/", plans.PlanDayView.as_view(), name="plan-day"),
    path("plan/compute/", plans.PlanComputeView.as_view(), name="plan-compute"),
    path("plan/slots/", plans.PlanSlotsFragmentView.as_view(), name="plan-slots"),
    path("plan/<id:pk>/accept/", plans.PlanAcceptView.as_view(), name="plan-accept"),
]
