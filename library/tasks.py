from __future__ import annotations

from celery import shared_task

from . import services


# Bounded three ways: the reader's own limits (library/extract.py), Celery's soft limit, and a
# hard limit after which a prefork worker kills the child that hung on a hostile file.
@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def document_extract_text(document_id: int) -> str:
    return services.document_extract_text(document_id=document_id)
