"""The staff page for importing members: upload, map the columns, preview (a dry run), import,
and download the report. The rules are in membership.services.importing; this only moves the
file and the forms. An upload waits in MEMBER_IMPORT_DIR under a random name that only the
session that uploaded it knows."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from .forms import ImportMappingForm, ImportUploadForm
from .services import importing

SESSION_KEY = "member_imports"
_TOKEN = re.compile(r"[0-9a-f]{32}")
SHOWN_ROWS = 1000  # the page lists this many rows; the CSV report has them all


def _require(request) -> None:
    if not request.user.has_perm("membership.add_membership"):
        raise PermissionDenied


def _folder() -> Path:
    folder = Path(settings.MEMBER_IMPORT_DIR)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _upload_path(request, token: str) -> Path:
    """The uploaded file, if this session uploaded it and it is still there; else 404."""
    known = request.session.get(SESSION_KEY, {})
    if not _TOKEN.fullmatch(token) or token not in known:
        raise Http404
    path = _folder() / f"{token}.csv"
    if not path.is_file():
        raise Http404
    return path


def upload(request):
    _require(request)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            importing.check_size(uploaded.size)  # before a byte of it is copied
            token = secrets.token_hex(16)
            path = _folder() / f"{token}.csv"
            with path.open("wb") as out:
                for chunk in uploaded.chunks():
                    out.write(chunk)
            try:
                with path.open("rb") as stream:
                    importing.inspect(stream)
            except importing.ImportRefused:
                path.unlink(missing_ok=True)
                raise
        except importing.ImportRefused as exc:
            form.add_error("file", str(exc))
        else:
            known = request.session.get(SESSION_KEY, {})
            known[token] = uploaded.name[:120]
            request.session[SESSION_KEY] = dict(list(known.items())[-5:])
            return redirect("membership_admin:import-map", token)
    return TemplateResponse(
        request,
        "membership/admin/import_upload.html",
        {
            "form": form,
            "page_title": "Import members",
            "max_mb": importing.max_bytes() // 1_048_576,
            "fields": importing.FIELDS,
        },
    )


def mapping(request, token: str):
    _require(request)
    path = _upload_path(request, token)
    name = request.session[SESSION_KEY][token]
    with path.open("rb") as stream:
        seen = importing.inspect(stream)
    initial = {field: str(index) for field, index in seen.mapping.items()}
    form = ImportMappingForm(
        request.POST or None, initial=initial, headings=seen.headings, fields=importing.FIELDS
    )
    report = None
    if request.method == "POST" and form.is_valid():
        dry_run = request.POST.get("action") != "import"
        try:
            with path.open("rb") as stream:
                report = importing.import_members(
                    stream,
                    mapping=form.mapping(),
                    dry_run=dry_run,
                    send_invitations=form.cleaned_data["send_invitations"],
                    actor=request.user,
                    label=f"{name}, by {request.user.email}",
                )
        except importing.ImportRefused as exc:
            form.add_error(None, str(exc))
        else:
            with (_folder() / f"{token}.report.csv").open("w", newline="", encoding="utf-8") as out:
                importing.write_report(report, out)
    return TemplateResponse(
        request,
        "membership/admin/import_map.html",
        {
            "page_title": f"Import members from {name}",
            "form": form,
            "inspection": seen,
            "token": token,
            "report": report,
            "shown": report.rows[:SHOWN_ROWS] if report else [],
            "shown_limit": SHOWN_ROWS,
        },
    )


def report_csv(request, token: str):
    _require(request)
    _upload_path(request, token)
    path = _folder() / f"{token}.report.csv"
    if not path.is_file():
        raise Http404
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename="member-import-report.csv",
        content_type="text/csv; charset=utf-8",
    )
