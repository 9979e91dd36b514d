"""Thin tasks: ids in, one service call. Queued with `delay_on_commit`."""

from smtplib import SMTPException

from celery import shared_task

from . import interviews, replies, rights

_RETRY = {
    "autoretry_for": (SMTPException, ConnectionError, TimeoutError),
    "max_retries": 3,
    "retry_backoff": 30,
    "time_limit": 60,
    "soft_time_limit": 50,
    "ignore_result": True,
}


@shared_task(
    name="signups.send_signup_emails",
    ignore_result=True,
    max_retries=0,
    time_limit=300,
    soft_time_limit=280,
)
def send_signup_emails() -> int:
    """Wake-up: answer every waiting signup (confirmation, « déjà inscrit·e », or
    nothing) and acknowledge every new interview application; the services decide.
    The tick runs the same services as a safety net."""
    return replies.signup_replies_send() + interviews.interview_acknowledgements_send()


@shared_task(name="signups.send_reconsent_email", **_RETRY)
def send_reconsent_email(contact_id: int) -> bool:
    return rights.reconsent_email_send(contact_id=contact_id)


@shared_task(name="signups.send_data_link", **_RETRY)
def send_data_link(contact_id: int) -> bool:
    return rights.data_link_send(contact_id=contact_id)
