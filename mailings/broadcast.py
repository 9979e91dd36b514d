"""The editor's sending journey: audience size, checked sending (now or later), pause
and resume. The outbox underneath is `services` (claim, hand over, record)."""

import json
import logging

from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.utils import timezone
from django.utils.translation import gettext as _

from . import services
from .checks import CheckReport, mailing_check
from .models import Delivery, Mailing, zone

logger = logging.getLogger(__name__)

S = Delivery.Status
# The live count answers within this; past it, PostgreSQL's estimate is shown, and said.
COUNT_BUDGET_MS = 100


def audience_size(contacts) -> tuple[int, bool]:
    """(number of contacts, exact?) of an audience (`audience_contacts`). On PostgreSQL
    an exact count that would take more than COUNT_BUDGET_MS is cut short and the
    planner's estimate is returned instead."""
    if db_connection.vendor != "postgresql":
        return contacts.count(), True
    try:
        with transaction.atomic(), db_connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {COUNT_BUDGET_MS}")
            return contacts.count(), True
    except DatabaseError:  # QueryCanceled: past the budget
        pass
    sql, params = contacts.values("pk").query.sql_with_params()
    with db_connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"]), False


class SendRefused(services.ScheduleError):
    """Something in the pre-send checks blocks; `report` says what."""

    def __init__(self, report: CheckReport):
        super().__init__(
            _("L’envoi est bloqué : %(problems)s") % {"problems": " ; ".join(report.blocking)}
        )
        self.report = report


def mailing_send(
    *, mailing: Mailing, now: bool = False, report: CheckReport | None = None
) -> Mailing:
    """Check `mailing` (unless `report` is the checks just made), then schedule it at its
    date and time, or for right now (the dispatch is queued at once rather than at the
    next tick). Refused (SendRefused) while a check blocks."""
    report = report or mailing_check(mailing=mailing, spam=False)
    if not report.ok:
        raise SendRefused(report)
    if now:
        moment = timezone.now().astimezone(zone(mailing.time_zone))
        Mailing.objects.filter(pk=mailing.pk).update(
            send_date=moment.date(),
            send_time=moment.time().replace(microsecond=0),
            local_time=False,
        )
    mailing = services.mailing_schedule(mailing=mailing)
    if now:
        from .tasks import dispatch_mailing

        dispatch_mailing.delay_on_commit(mailing.pk)
    return mailing


@transaction.atomic
def mailing_pause(*, mailing: Mailing) -> int:
    """Stop handing this mailing's messages over; what a worker already holds goes out.
    Returns how many deliveries wait."""
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.status != Mailing.Status.SENDING:
        raise services.ScheduleError(_("Seul un mailing en cours d’envoi peut être mis en pause."))
    mailing.status = Mailing.Status.PAUSED
    mailing.save(update_fields=["status", "updated_at"])
    return mailing.deliveries.filter(status=S.PENDING).update(status=S.PAUSED)


@transaction.atomic
def mailing_resume(*, mailing: Mailing) -> int:
    """Carry on where the pause stopped. Returns how many deliveries go back to the outbox."""
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.status != Mailing.Status.PAUSED:
        raise services.ScheduleError(_("Ce mailing n’est pas en pause."))
    mailing.status = Mailing.Status.SENDING
    mailing.save(update_fields=["status", "updated_at"])
    count = mailing.deliveries.filter(status=S.PAUSED).update(status=S.PENDING)
    transaction.on_commit(services.outbox_wake)
    return count
