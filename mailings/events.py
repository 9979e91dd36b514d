"""What the ESP tells us, recorded and acted on: one place for every ESP.

`events_record` takes every tracking event of one webhook request and, in one
transaction, with a few set-based statements:
- finds the delivery each event names (our `delivery_id` metadata, else the ESP's
  message id) and keeps the event only if its recipient is that delivery's contact
  address: an event naming someone else's delivery is ignored and logged;
- records it once (unique event id; a stable id is derived when the ESP gives none);
- acts on it: a hard bounce or a complaint suppresses the contact for good, an ESP
  unsubscribe ends the subscription, a click marks the reader active, and repeated
  soft bounces (MAIL_SOFT_BOUNCE_LIMIT distinct messages within MAIL_SOFT_BOUNCE_DAYS)
  stop mail to the contact until the editor resumes it.

`event_kind` classifies from anymail's structured fields (event type, reject reason,
MTA response) and, for bounces, from the one field of each ESP that tells a soft one
from a hard one. A soft bounce, a deferral or an ESP's refusal (blocked) never
suppresses.
"""

import datetime as dt
import hashlib
import logging
import re
from collections import defaultdict

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from signups import services as signups_services
from signups import suppression
from signups.models import Contact, Subscription

from . import tallies
from .models import Delivery, Event

logger = logging.getLogger(__name__)

HARD, SOFT, BLOCKED = "bounced", "soft_bounced", "blocked"
SITE_CLICKS = "Pouls"  # the « ESP » of clicks on the site's own tracked links
SOFT_BOUNCES_REASON = "soft_bounces"

KINDS = {
    EventType.DELIVERED: "delivered",
    EventType.COMPLAINED: "complained",
    EventType.UNSUBSCRIBED: "unsubscribed",
    EventType.OPENED: "opened",
    EventType.CLICKED: "clicked",
    EventType.DEFERRED: "deferred",
}

# --- classification --------------------------------------------------------------

_ENHANCED_STATUS = re.compile(r"(?<![\d.])([245])\.\d{1,3}\.\d{1,3}(?![\d.])")
_REPLY_CODE = re.compile(r"(?:^|smtp;\s*|\s)([245])\d\d(?:[\s-]|$)")


def smtp_class(text) -> str:
    """« 4 », « 5 » (or « 2 ») from an MTA response, « » when it says nothing."""
    text = str(text or "")
    match = _ENHANCED_STATUS.search(text) or _REPLY_CODE.search(text)
    return match.group(1) if match else ""


def _by_code(*codes) -> str:
    """Soft when the MTA said 4xx, hard otherwise (5xx or nothing said)."""
    for code in codes:
        found = smtp_class(code)
        if found:
            return SOFT if found == "4" else HARD
    return HARD


def _raw(event) -> dict:
    raw = event.esp_event
    return raw if isinstance(raw, dict) else {}


def _brevo(event) -> str:
    # anymail reports both `hard_bounce` and `soft_bounce` as bounced.
    return SOFT if _raw(event).get("event") == "soft_bounce" else HARD


def _postmark(event) -> str:
    kind = _raw(event).get("Type")
    if kind == "HardBounce":
        return HARD
    if kind in ("SoftBounce", "VirusNotification", "Transient", "DnsError"):
        return SOFT
    return _by_code(event.mta_response)


def _amazon_ses(event) -> str:
    bounce = _raw(event).get("bounce") or {}
    kind, sub = bounce.get("bounceType"), bounce.get("bounceSubType")
    if kind == "Permanent":
        # SES refused to try: the address is on its suppression list.
        return BLOCKED if sub in ("Suppressed", "OnAccountSuppressionList") else HARD
    if kind in ("Transient", "Undetermined"):
        return SOFT
    return _by_code(event.mta_response)


def _sendgrid(event) -> str:
    kind = _raw(event).get("type")  # "bounce" (hard) or "blocked" (temporary)
    if kind == "blocked":
        return SOFT
    if kind == "bounce":
        return HARD
    return _by_code(_raw(event).get("status"), event.mta_response)


def _mailgun(event) -> str:
    raw = event.esp_event
    data = raw.get("event-data", raw) if hasattr(raw, "get") else {}
    reason = data.get("reason") or ""
    if reason in ("suppress-bounce", "suppress-complaint", "suppress-unsubscribe", "espblock"):
        return BLOCKED  # Mailgun refused to try
    if reason == "old":  # retried until it expired (each try was reported as deferred)
        return SOFT
    status = data.get("delivery-status") if isinstance(data.get("delivery-status"), dict) else {}
    return _by_code(status.get("code"), event.mta_response, data.get("code"))


BOUNCE_RULES = {
    "Brevo": _brevo,
    "SendinBlue": _brevo,
    "Postmark": _postmark,
    "Amazon SES": _amazon_ses,
    "SendGrid": _sendgrid,
    "Mailgun": _mailgun,
}


def event_kind(event, esp_name: str) -> str:
    """The kind recorded for an anymail tracking event (`Event.kind`)."""
    if event.event_type == EventType.BOUNCED:
        rule = BOUNCE_RULES.get(esp_name)
        return rule(event) if rule else _by_code(event.mta_response, event.description)
    if event.event_type == EventType.REJECTED:
        # The ESP refused to send: an address it knows is invalid is a hard bounce;
        # its own block lists and policies say nothing final about the address.
        return HARD if event.reject_reason == RejectReason.INVALID else BLOCKED
    if esp_name == "Amazon SES" and _ses_unsubscribe_all(event):
        return "unsubscribed"  # SES list management, which anymail leaves « unknown »
    return KINDS.get(event.event_type, str(event.event_type))


def _ses_unsubscribe_all(event) -> bool:
    raw = _raw(event)
    if raw.get("eventType") != "Subscription":
        return False
    preferences = (raw.get("subscription") or {}).get("newTopicPreferences") or {}
    return preferences.get("unsubscribeAll") is True


# --- recording -------------------------------------------------------------------

DELIVERY_FIELDS = (
    "id",
    "mailing_id",
    "step_id",
    "contact_id",
    "subscription_id",
    "esp_message_id",
    "contact__email",
)


def _event_key(event, esp_name: str) -> str:
    """Unique per ESP event and recipient (one SES notification covers several)."""
    event_id = event.event_id or "{}:{}:{}".format(
        event.message_id,
        event.event_type,
        event.timestamp.isoformat() if event.timestamp else "",
    )
    key = f"{esp_name}:{event_id}:{(event.recipient or '').lower()}"
    if len(key) > 200:
        key = f"{esp_name}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return key


def _delivery_id(event) -> int | None:
    value = (event.metadata or {}).get("delivery_id") if isinstance(event.metadata, dict) else None
    value = str(value or "")
    return int(value) if value.isdigit() and len(value) < 19 else None


def _message_id(event) -> str:
    return str(event.message_id or "").strip().strip("<>")[:200]


def _deliveries(events) -> tuple[dict, dict]:
    ids = {i for i in map(_delivery_id, events) if i is not None}
    message_ids = {m for m in map(_message_id, events) if m}
    by_id, by_message_id = {}, defaultdict(list)
    if ids:
        for row in Delivery.objects.filter(pk__in=ids).values(*DELIVERY_FIELDS):
            by_id[row["id"]] = row
    if message_ids:
        for row in Delivery.objects.filter(esp_message_id__in=message_ids).values(*DELIVERY_FIELDS):
            by_message_id[row["esp_message_id"]].append(row)
    return by_id, by_message_id


def _same_address(a, b) -> bool:
    return bool(a) and bool(b) and str(a).strip().casefold() == str(b).strip().casefold()


def events_record(*, events: list, esp_name: str) -> int:
    """Record a webhook request's tracking events and act on them; the number recorded."""
    if not events:
        return 0
    by_id, by_message_id = _deliveries(events)
    rows, ignored = {}, 0
    for event in events:
        delivery_id = _delivery_id(event)
        candidates = [by_id[delivery_id]] if delivery_id in by_id else []
        candidates = candidates or by_message_id.get(_message_id(event), [])
        if not candidates:
            continue  # not one of our deliveries (a confirmation email, a test send…)
        delivery = next(
            (d for d in candidates if _same_address(d["contact__email"], event.recipient)), None
        )
        if delivery is None:
            ignored += 1
            continue
        key = _event_key(event, esp_name)
        rows.setdefault(key, (event, event_kind(event, esp_name), delivery))
    if ignored:
        logger.warning(
            "%s webhook: %d event(s) ignored, their recipient is not the delivery's contact.",
            esp_name,
            ignored,
        )
    if not rows:
        return 0

    now = timezone.now()
    with transaction.atomic():
        known = set(
            Event.objects.filter(event_id__in=list(rows)).values_list("event_id", flat=True)
        )
        new = [(key, *row) for key, row in rows.items() if key not in known]
        recorded = [
            Event(
                event_id=key,
                kind=kind,
                delivery_id=(
                    delivery["id"] if kind != "opened" or settings.MAIL_TRACK_OPENS else None
                ),
                mailing_id=delivery["mailing_id"],
                step_id=delivery["step_id"],
                occurred_at=event.timestamp or now,
                # A click's detail is its link: the results count clicks per link.
                detail=str(
                    (event.click_url if kind == "clicked" else "")
                    or event.description
                    or event.mta_response
                    or ""
                )[:300],
            )
            for key, event, kind, delivery in new
        ]
        Event.objects.bulk_create(
            recorded,
            batch_size=1000,
            ignore_conflicts=True,  # a concurrent request carrying the same event
        )
        # The results' counts, in the same transaction. (Should a concurrent request
        # have recorded one of these first, it is counted twice; tallies_rebuild recounts.)
        tallies.tallies_add(events=recorded)
        _act(new, now=now)
    return len(new)


def click_record(*, delivery_id: int, url: str) -> int:
    """A click on one of the site's own tracked links (mailings/clicks.py), recorded as
    the ESP's click events are. Repeats of the same link by the same delivery within a
    minute (a mail scanner's prefetch, a double click) are one event; the results count
    each reader once per kind anyway."""
    email = Delivery.objects.filter(pk=delivery_id).values_list("contact__email", flat=True).first()
    if not email:
        return 0  # erased since, or never ours: redirect all the same, record nothing
    now = timezone.now()
    link = hashlib.sha256(url.encode()).hexdigest()[:16]
    event = AnymailTrackingEvent(
        event_type=EventType.CLICKED,
        timestamp=now,
        event_id=f"click:{delivery_id}:{link}:{int(now.timestamp()) // 60}",
        recipient=email,
        metadata={"delivery_id": str(delivery_id)},
        click_url=url,
    )
    return events_record(events=[event], esp_name=SITE_CLICKS)


def _act(new: list, *, now) -> None:
    """What the new events change; each step is idempotent (a concurrent copy of the
    same request does it twice to the same effect)."""
    contacts = defaultdict(set)
    subscriptions = set()
    for _key, _event, kind, delivery in new:
        contacts[kind].add(delivery["contact_id"])
        if kind == "unsubscribed":
            subscriptions.add(delivery["subscription_id"])
    if contacts["clicked"]:
        Contact.objects.filter(pk__in=contacts["clicked"]).update(last_activity_at=now)
    for kind, reason in ((HARD, "hard_bounce"), ("complained", "complaint")):
        if contacts[kind]:
            suppression.contacts_suppress(contact_ids=contacts[kind], reason=reason)
    if subscriptions:
        for subscription in Subscription.objects.filter(pk__in=subscriptions).exclude(
            status=Subscription.Status.UNSUBSCRIBED
        ):
            signups_services.subscription_unsubscribe(
                subscription=subscription, reason="esp_unsubscribe"
            )
    if contacts[SOFT]:
        _hold_after_soft_bounces(contacts[SOFT], now=now)


def _hold_after_soft_bounces(contact_ids, *, now) -> None:
    since = now - dt.timedelta(days=settings.MAIL_SOFT_BOUNCE_DAYS)
    repeated = (
        Event.objects.filter(
            kind=SOFT, delivery__contact_id__in=contact_ids, occurred_at__gte=since
        )
        .values("delivery__contact_id")
        .annotate(messages=Count("delivery_id", distinct=True))
        .filter(messages__gte=settings.MAIL_SOFT_BOUNCE_LIMIT)
        .values_list("delivery__contact_id", flat=True)
    )
    suppression.contacts_suppress(
        contact_ids=list(repeated), reason=SOFT_BOUNCES_REASON, permanent=False
    )


# --- inbound -----------------------------------------------------------------------


def mailto_unsubscribe(*, subject: str) -> Subscription | None:
    """An email to the List-Unsubscribe mailbox (arriving through anymail's inbound
    webhook): the subject carries the same signed token as the one-click link."""
    from signups import tokens

    from .rendering import MAILTO_SUBJECT_PREFIX

    match = re.search(rf"{re.escape(MAILTO_SUBJECT_PREFIX)}(\S+)", subject or "")
    if not match:
        return None
    try:
        pk = tokens.read_token("unsubscribe", match.group(1))
    except tokens.InvalidToken:
        return None
    subscription = Subscription.objects.filter(pk=pk).first()
    if subscription is None:
        return None
    return signups_services.subscription_unsubscribe(subscription=subscription, reason="mailto")
