"""Education's URLs, mounted at the site root: `/verify/<number>/` is printed on certificates,
members' pages live under `/education/`, and the conference staff pages under
`/conferences/<id>/staff/ce/` so the staff-area second factor covers them
(membership.middleware.STAFF_AREAS)."""

from django.urls import path

from . import views

app_name = "education"

urlpatterns = [
    path("verify/<str:number>/", views.verify, name="verify"),
    path("education/certificates/<str:number>.pdf", views.certificate_pdf, name="certificate-pdf"),
]
