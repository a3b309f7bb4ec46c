"""FHIR R4 routes, mounted at /fhir/r4/ by radiopharmacy/urls.py."""

from django.urls import path, re_path

from scheduling.fhir import views

urlpatterns = [
    path("metadata", views.Metadata.as_view(), name="fhir-metadata"),
    path(
        "MedicationAdministration",
        views.MedicationAdministrationSearch.as_view(),
        name="fhir-medicationadministration-search",
    ),
    path(
        "MedicationAdministration/<id:pk>",
        views.MedicationAdministrationRead.as_view(),
        name="fhir-medicationadministration",
    ),
    path("ServiceRequest", views.ServiceRequestCreate.as_view(), name="fhir-servicerequest-create"),
    path("ServiceRequest/<id:pk>", views.ServiceRequestRead.as_view(), name="fhir-servicerequest"),
    re_path(r"^.*$", views.UnknownPath.as_view()),
]
