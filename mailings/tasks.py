"""Thin tasks: take ids, call one service. All `mailings.*` tasks go to the `mail` queue."""

from celery import shared_task
from django.db import OperationalError

from . import services


@shared_task(
    name="mailings.dispatch_mailing",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=5,
    time_limit=900,
    soft_time_limit=840,
)
def dispatch_mailing(mailing_id: int) -> None:
    services.mailing_dispatch(mailing_id=mailing_id)


@shared_task(
    name="mailings.send_batch",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=5,
    time_limit=600,
    soft_time_limit=540,
)
def send_batch(slot: int | None = None, token: str | None = None) -> None:
    """Drain one batch of the outbox; while work remains, queue the next one of the chain
    (`slot`, `token`: which chain, see `outbox.outbox_wake`)."""
    if services.outbox_send_batch(slot=slot, token=token):
        send_batch.delay(slot, token)
