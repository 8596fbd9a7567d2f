"""`manage.py import_members FILE [--dry-run] [--send-invitations] [--report OUT.csv]`."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from membership.services import importing


class Command(BaseCommand):
    help = (
        "Import members from a CSV (Wild Apricot's or CiviCRM's member export, or the template "
        "in membership/import_templates/). Prints a report row by row; sends no mail unless "
        "--send-invitations."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; change nothing."
        )
        parser.add_argument(
            "--send-invitations",
            action="store_true",
            help="Mail every imported person without a password a link to set one (once).",
        )
        parser.add_argument("--report", type=Path, help="Also write the report to this CSV.")
        parser.add_argument(
            "--quiet", action="store_true", help="Print the summary only, not every row."
        )

    def handle(self, *args, file: Path, dry_run: bool, send_invitations: bool, **options):
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        try:
            with file.open("rb") as stream:
                report = importing.import_members(
                    stream,
                    dry_run=dry_run,
                    send_invitations=send_invitations,
                    label=f"manage.py import_members {file.name}",
                )
        except importing.ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        if not options["quiet"]:
            for r in report.rows:
                detail = f": {r.detail}" if r.detail else ""
                self.stdout.write(f"row {r.row} {r.email or '(no email)'} {r.outcome}{detail}")
        if options["report"]:
            with options["report"].open("w", newline="", encoding="utf-8") as out:
                importing.write_report(report, out)
        self.stdout.write(("Dry run. " if dry_run else "") + report.summary())
        if send_invitations:
            self.stdout.write(f"{report.invitations} invitations queued.")
