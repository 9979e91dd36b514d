"""Readers exported from another platform (Mailchimp, Kit, Substack, Ghost members):
each row becomes a contact and a subscription with its consent history.

`contacts_import_platform_export` is the one mapping; the admin's CSV import and the
articles importer can both call it. Nothing is sent: no confirmation, no welcome
sequence, unless `welcome=True` is asked for."""

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from . import signals
from .models import Consent, Contact, MailingList, Subscription
from .suppression import contact_suppress, is_suppressed

PLATFORMS = {
    "mailchimp": "Mailchimp",
    "kit": "Kit",
    "substack": "Substack",
    "ghost": "Ghost",
}
ACTIVE, UNSUBSCRIBED, SUPPRESSED = "active", "unsubscribed", "suppressed"


@dataclass
class ReaderRow:
    email: str
    first_name: str = ""
    state: str = ACTIVE  # active, unsubscribed, suppressed
    reason: str = ""  # why suppressed: bounced, complained, cleaned
    opted_in_at: datetime | None = None
    opt_in_ip: str | None = None
    unsubscribed_at: datetime | None = None


@dataclass
class PlatformImportReport:
    platform: str = ""
    active: int = 0
    unsubscribed: int = 0
    suppressed: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, value, reason)


def _get(row: dict, *names: str) -> str:
    lowered = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
    for name in names:
        if lowered.get(name, "").strip():
            return lowered[name].strip()
    return ""


def _when(value: str) -> datetime | None:
    if not value:
        return None
    value = value.strip().replace("Z", "+00:00")
    parsed = parse_datetime(value) or parse_datetime(value.replace(" ", "T", 1))
    if parsed and timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _ip(value: str) -> str | None:
    try:
        validate_ipv46_address(value.strip())
    except ValidationError:
        return None
    return value.strip()


def platform_detect(header: list[str]) -> str | None:
    names = {h.strip().lower() for h in header}
    if "email address" in names and ("optin_time" in names or "leid" in names):
        return "mailchimp"
    if "subscribed_to_emails" in names or ("email" in names and "labels" in names):
        return "ghost"
    if "email_disabled" in names or "active_subscription" in names:
        return "substack"
    if "email_address" in names or {"email", "state"} <= names or {"email", "status"} <= names:
        return "kit"
    return None


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes", "oui")


def platform_row(platform: str, row: dict) -> ReaderRow:
    """One exported row, mapped: address, first name, state and consent history."""
    if platform == "mailchimp":
        # Mailchimp exports one file per audience state; the columns tell which.
        state, reason = ACTIVE, ""
        if _get(row, "clean_time"):
            state, reason = SUPPRESSED, "cleaned"
        elif _get(row, "unsub_time"):
            state = UNSUBSCRIBED
        return ReaderRow(
            email=_get(row, "email address", "email"),
            first_name=_get(row, "first name", "fname"),
            state=state,
            reason=reason,
            opted_in_at=_when(_get(row, "confirm_time", "optin_time")),
            opt_in_ip=_ip(_get(row, "confirm_ip", "optin_ip")),
            unsubscribed_at=_when(_get(row, "unsub_time", "clean_time")),
        )
    if platform == "kit":
        status = _get(row, "state", "status").lower()
        state, reason = ACTIVE, ""
        if status in ("bounced", "complained"):
            state, reason = SUPPRESSED, status
        elif status in ("cancelled", "canceled", "unsubscribed", "inactive"):
            state = UNSUBSCRIBED
        return ReaderRow(
            email=_get(row, "email_address", "email", "email address"),
            first_name=_get(row, "first_name", "first name"),
            state=state,
            reason=reason,
            opted_in_at=_when(_get(row, "created_at", "subscribed_at")),
        )
    if platform == "substack":
        return ReaderRow(
            email=_get(row, "email"),
            first_name=_get(row, "name", "first_name"),
            state=UNSUBSCRIBED if _truthy(_get(row, "email_disabled")) else ACTIVE,
            opted_in_at=_when(_get(row, "created_at")),
        )
    if platform == "ghost":
        name = _get(row, "name")
        return ReaderRow(
            email=_get(row, "email"),
            first_name=name.split()[0] if name else "",
            state=ACTIVE if _truthy(_get(row, "subscribed_to_emails")) else UNSUBSCRIBED,
            opted_in_at=_when(_get(row, "created_at")),
        )
    raise ValueError(platform)


def contacts_import_platform_export(
    *,
    text: str,
    mailing_list: MailingList,
    platform: str = "auto",
    imported_by: str = "",
    welcome: bool = False,
) -> PlatformImportReport:
    """Import a platform's export of readers into `mailing_list`.

    Active rows become active subscriptions with consent evidence (the platform, the
    original opt-in date and IP when the export has them). Unsubscribed rows become
    unsubscribed subscriptions; cleaned, bounced or complained rows are suppressed:
    never active. What a person did here since (unsubscribing, a subscription already
    there) is never overridden. Nothing is sent unless `welcome` is asked for."""
    from .forms import normalise_email

    report = PlatformImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    if platform == "auto":
        platform = platform_detect(header) or ""
    if platform not in PLATFORMS:
        report.errors.append(
            (
                1,
                ", ".join(header)[:200],
                _("Export non reconnu (Mailchimp, Kit, Substack ou Ghost)."),
            )
        )
        return report
    report.platform = platform
    label = PLATFORMS[platform]
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        mapped = platform_row(platform, row)
        try:
            email = normalise_email(mapped.email)
        except ValidationError as exc:
            report.errors.append((line, mapped.email[:254], " ".join(exc.messages)))
            continue
        if email in seen:
            report.unchanged += 1
            continue
        seen.add(email)
        with transaction.atomic():
            outcome = _import_reader(
                email, mapped, mailing_list=mailing_list, label=label,
                imported_by=imported_by, welcome=welcome,
            )  # fmt: skip
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _import_reader(email, mapped: ReaderRow, *, mailing_list, label, imported_by, welcome) -> str:
    first_name = mapped.first_name[:100] if all(ord(c) >= 32 for c in mapped.first_name) else ""
    when = mapped.opted_in_at or timezone.now()
    contact, _created = Contact.objects.get_or_create(
        email=email,
        defaults={
            "first_name": first_name,
            "source": f"import:{label}"[:64],
            "created_at": when,
            "last_activity_at": when,
        },
    )
    if mapped.state == SUPPRESSED:
        contact_suppress(contact=contact, reason=f"{label}: {mapped.reason}"[:64])
        return "suppressed"
    if is_suppressed(email) or not contact.is_sendable:
        return "suppressed"
    state = (
        Subscription.Status.ACTIVE if mapped.state == ACTIVE else Subscription.Status.UNSUBSCRIBED
    )
    subscription, created = Subscription.objects.get_or_create(
        contact=contact,
        mailing_list=mailing_list,
        defaults={
            "status": state,
            "created_at": when,
            "confirmed_at": when if state == Subscription.Status.ACTIVE else None,
            "unsubscribed_at": (mapped.unsubscribed_at or timezone.now())
            if state == Subscription.Status.UNSUBSCRIBED
            else None,
        },
    )
    if not created:
        return "unchanged"  # an import never overrides what the person did since
    if state == Subscription.Status.UNSUBSCRIBED:
        return "unsubscribed"
    Consent.objects.record(
        contact=contact,
        mailing_list=mailing_list,
        form=f"import : {label}",
        given_at=mapped.opted_in_at,
        ip_address=mapped.opt_in_ip,
        user_agent=f"import par {imported_by}" if imported_by else "import",
        text=_("Inscription sur %(platform)s, importée : le texte accepté là-bas n’est pas connu.")
        % {"platform": label},
        version=0,
    )
    if welcome:
        signals.subscription_confirmed.send(sender=Subscription, subscription=subscription)
    return "active"
