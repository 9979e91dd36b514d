"""Thin tasks: ids in, one service call. Queued with `delay_on_commit`."""

from smtplib import SMTPException

from celery import shared_task

from . import services

_RETRY = {
    "autoretry_for": (SMTPException, ConnectionError, TimeoutError),
    "max_retries": 3,
    "retry_backoff": 30,
    "time_limit": 60,
    "soft_time_limit": 50,
    "ignore_result": True,
}


@shared_task(name="signups.send_signup_email", **_RETRY)
def send_signup_email(subscription_id: int | None) -> str:
    """The confirmation, « déjà inscrit·e », or nothing: the service decides."""
    return services.signup_email_send(subscription_id=subscription_id)


@shared_task(name="signups.send_reconsent_email", **_RETRY)
def send_reconsent_email(contact_id: int) -> bool:
    return services.reconsent_email_send(contact_id=contact_id)
