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
