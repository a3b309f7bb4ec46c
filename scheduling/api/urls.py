"""API routes of this area, under /api/v1/."""

from django.urls import path

from scheduling.api import batch_activity, bookings, doses, instrument_files, plans

urlpatterns = [
    path("bookings/", bookings.BookingListCreate.as_view(), name="api-bookings"),
    path("bookings/<id:pk>/", bookings.BookingDetail.as_view(), name="api-booking"),
    path("bookings/<id:pk>/cancel/", bookings.BookingCancel.as_view(), name="api-booking-cancel"),
    path("bookings/<id:pk>/missed/", bookings.BookingMissed.as_view(), name="api-booking-missed"),
    path(
        "bookings/<id:pk>/reschedule/",
        bookings.BookingReschedule.as_view(),
        name="api-booking-reschedule",
    ),
    path("doses/", doses.DoseListCreate.as_view(), name="api-doses"),
    path("doses/<id:pk>/", doses.DoseDetail.as_view(), name="api-dose"),
    path(
        "doses/<id:pk>/measurement/",
        doses.DoseMeasurement.as_view(),
        name="api-dose-measurement",
    ),
    path(
        "doses/<id:pk>/administration/",
        doses.DoseAdministration.as_view(),
        name="api-dose-administration",
    ),
    path("doses/<id:pk>/cancel/", doses.DoseCancel.as_view(), name="api-dose-cancel"),
    path(
        "instrument-files/dose-calibrator/preview/",
        instrument_files.DoseCalibratorPreview.as_view(),
        name="api-dose-calibrator-preview",
    ),
    path(
        "instrument-files/dose-calibrator/",
        instrument_files.DoseCalibratorImport.as_view(),
        name="api-dose-calibrator-import",
    ),
    path(
        "instrument-files/dose-calibrator/<id:pk>/raw/",
        instrument_files.DoseCalibratorRaw.as_view(),
        name="api-dose-calibrator-raw",
    ),
    path("plans/", plans.PlanListCreate.as_view(), name="api-plans"),
    path("plans/slots/", plans.PlanSlots.as_view(), name="api-plan-slots"),
    path("plans/<id:pk>/", plans.PlanDetail.as_view(), name="api-plan"),
    path("plans/<id:pk>/accept/", plans.PlanAccept.as_view(), name="api-plan-accept"),
    path(
        "batches/<id:pk>/activity/",
        batch_activity.BatchActivity.as_view(),
        name="api-batch-activity",
    ),
]
