"""Education's background jobs. Each takes primary keys and calls the service it is named for;
mail tasks are `send_*` (the mail queue) and send once through portal.sendonce."""

from __future__ import annotations

from celery import shared_task

from portal.retry import SMTP_RETRY

from . import mail


@shared_task(**SMTP_RETRY)
def send_certificate(certificate_id: int) -> bool:
    return mail.certificate_mail(certificate_id)
