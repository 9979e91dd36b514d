"""Thin tasks: ids in, one service call. Queued with `delay_on_commit`."""

from smtplib import SMTPException

from celery import shared_task

from . import commenting


@shared_task(
    name="articles.send_comment_confirmation",
    ignore_result=True,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    max_retries=3,
    retry_backoff=30,
    time_limit=60,
    soft_time_limit=50,
)
def send_comment_confirmation(comment_id: int) -> bool:
    return commenting.comment_confirmation_send(comment_id=comment_id)


@shared_task(
    name="articles.run_import_job",
    ignore_result=True,
    max_retries=0,
    time_limit=3600,
    soft_time_limit=3500,
)
def run_import_job(job_id: int) -> None:
    from .jobs import import_job_run

    import_job_run(job_id=job_id)
