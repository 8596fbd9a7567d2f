"""Education's URLs, mounted at the site root: `/verify/<number>/` is printed on certificates,
members' and attendees' pages live under `/education/`, and the conference staff pages under
`/conferences/<id>/staff/ce/`, inside the staff URL group whose second factor
membership.middleware demands."""

from django.urls import path

from . import views

app_name = "education"

staff = "conferences/<id:conference_id>/staff/ce/"

urlpatterns = [
    path("verify/<str:number>/", views.verify, name="verify"),
    path("education/certificates/<str:number>.pdf", views.certificate_pdf, name="certificate-pdf"),
    path("education/transcript/", views.transcript, name="transcript"),
    path("education/transcript.pdf", views.transcript_pdf, name="transcript-pdf"),
    path("education/transcript.csv", views.transcript_csv, name="transcript-csv"),
    # The attendee's signed ticket link (conferences.tickets): no account, no login.
    path(
        "education/t/<str:token>/sessions/<id:session_id>/check-in/",
        views.self_check_in,
        name="self-check-in",
    ),
    path(
        "education/t/<str:token>/sessions/<id:session_id>/evaluation/",
        views.evaluation,
        name="evaluation",
    ),
    path(
        "education/t/<str:token>/certificate/",
        views.certificate_request,
        name="certificate-request",
    ),
    path(
        "education/t/<str:token>/certificate.pdf",
        views.ticket_certificate,
        name="ticket-certificate",
    ),
    path("education/speakers/<str:token>/", views.speaker_results, name="speaker-results"),
    path(staff, views.staff_sessions, name="staff-sessions"),
    path(staff + "issue/", views.staff_issue_certificates, name="staff-issue"),
    path(staff + "sessions/<id:session_id>/door/", views.staff_door, name="staff-door"),
    path(staff + "sessions/<id:session_id>/code/", views.staff_room_code, name="staff-room-code"),
    path(staff + "sessions/<id:session_id>/results/", views.staff_results, name="staff-results"),
]
