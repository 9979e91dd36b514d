"""Importing the contact files people have: a spreadsheet saved by French Excel
(semicolons, Windows-1252), a UTF-8 file with or without a BOM, tab-separated text, and
the member exports of Mailchimp, Kit, Substack and Ghost, whose unsubscribed or cleaned
rows become unsubscribed or suppressed here, never active.

Reading (`contacts_file_read`) is separate from importing (`contacts_import`), so the
admin shows the first lines as they will be read before anything is written."""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time

from charset_normalizer import from_bytes
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import platform_exports, signals, suppression
from .models import Consent, Contact, MailingList, Profile, Subscription, Suppression, email_hash

DELIMITERS = (",", ";", "\t")
EMAIL_COLUMNS = (
    "email",
    "e-mail",
    "courriel",
    "adresse",
    "adresse e-mail",
    "email address",
    "email_address",
    "adresse email",
    "mail",
)
NAME_COLUMNS = ("prénom", "prenom", "first_name", "firstname", "first name", "fname", "name", "nom")
PROFILE_COLUMNS = ("profil", "profile")

ACTIVE, UNSUBSCRIBED, SUPPRESSED = "active", "unsubscribed", "suppressed"
# The status columns of the platforms' exports, and their words for each state.
STATUS_COLUMNS = ("status", "state", "statut", "member status", "subscriber status")
UNSUBSCRIBED_WORDS = {
    "unsubscribed",
    "unsubscribe",
    "cancelled",
    "canceled",
    "désinscrit",
    "désinscrite",
    "désinscrit·e",
    "inactive",
    "opted out",
    "optout",
}
SUPPRESSED_WORDS = {
    "cleaned",
    "bounced",
    "complained",
    "spam",
    "blocked",
    "bloqué",
    "hard bounce",
    "invalid",
}
FALSE_WORDS = {"false", "faux", "no", "non", "0", ""}
TRUE_WORDS = {"true", "vrai", "yes", "oui", "1"}


@dataclass
class ContactsFile:
    """A contacts file as it will be read: its text, encoding and delimiter."""

    text: str
    encoding: str
    delimiter: str

    def rows(self):
        return csv.reader(io.StringIO(self.text), delimiter=self.delimiter)

    @property
    def delimiter_name(self) -> str:
        return {",": _("virgule"), ";": _("point-virgule"), "\t": _("tabulation")}[self.delimiter]


def contacts_file_decode(raw: bytes) -> tuple[str, str]:
    """The text and the name of its encoding: UTF-8 (with or without a BOM, which Excel's
    « CSV UTF-8 » writes), else what charset-normalizer finds (Windows-1252 for a
    French Excel « CSV (séparateur : point-virgule) »), else Windows-1252."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "UTF-8 (BOM)"
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(raw[:200_000], cp_isolation=["cp1252", "latin_1", "mac_roman"]).best()
    encoding = best.encoding if best else "cp1252"
    name = {"cp1252": "Windows-1252", "latin_1": "ISO-8859-1", "mac_roman": "Mac Roman"}
    return raw.decode(encoding, errors="replace"), name.get(encoding, encoding)


def contacts_file_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one the header line splits on most, as csv.Sniffer
    finds it on the first lines (a French Excel file uses semicolons, since the comma
    is the decimal separator)."""
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        header = text.splitlines()[0] if text else ""
        return max(DELIMITERS, key=header.count)


def contacts_file_read(*, raw: bytes) -> ContactsFile:
    text, encoding = contacts_file_decode(raw)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return ContactsFile(text=text, encoding=encoding, delimiter=contacts_file_delimiter(text))


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    cleaned = [title.strip().strip('"').lower() for title in header]
    for name in names:
        if name in cleaned:
            return cleaned.index(name)
    return None


def export_row_status(*, header: list[str], row: list[str]) -> str:
    """What a row of a platform's export says of its person: `ACTIVE`, `UNSUBSCRIBED`
    or `SUPPRESSED` (cleaned, bounced, complained: never to be mailed again).

    - Mailchimp: each status is its own file; the unsubscribed one has UNSUB_TIME, the
      cleaned one CLEAN_TIME (or CLEAN_CAMPAIGN_TITLE).
    - Kit (ConvertKit): a `state` column: active, cancelled, bounced, complained, cold.
    - Substack: `email_disabled` true when the reader turned emails off.
    - Ghost: `subscribed_to_emails` false, or a `deleted_at` date.
    - Any file with a status column in these words, in English or French."""
    platform = platform_exports.platform_detect(header)
    if platform:  # the platforms' own mapping, shared with the readers' import command
        cells = {title: (row[i] if i < len(row) else "") for i, title in enumerate(header)}
        return platform_exports.platform_row(platform, cells).state
    values = {
        title.strip().strip('"').lower(): (row[i].strip().lower() if i < len(row) else "")
        for i, title in enumerate(header)
    }
    if values.get("clean_time") or values.get("clean_campaign_title"):
        return SUPPRESSED
    if values.get("unsub_time") or values.get("unsub_campaign_title"):
        return UNSUBSCRIBED
    for column in STATUS_COLUMNS:
        value = values.get(column, "")
        if value in SUPPRESSED_WORDS:
            return SUPPRESSED
        if value in UNSUBSCRIBED_WORDS:
            return UNSUBSCRIBED
    if values.get("email_disabled", "") in TRUE_WORDS:
        return UNSUBSCRIBED
    if "subscribed_to_emails" in values and values["subscribed_to_emails"] in FALSE_WORDS:
        return UNSUBSCRIBED
    if values.get("deleted_at"):
        return UNSUBSCRIBED
    return ACTIVE


@dataclass
class ImportRow:
    line: int
    email: str
    first_name: str = ""
    profile: str = ""
    status: str = ACTIVE
    error: str = ""


@dataclass
class ImportReport:
    imported: int = 0
    unchanged: int = 0
    suppressed: int = 0
    unsubscribed: int = 0
    enrolled: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, value, reason)


def contacts_file_rows(contacts_file: ContactsFile):
    """Each data row as an `ImportRow` (with `error` set when it cannot be imported);
    raises ValidationError when the file has no header or no email column."""
    from .forms import normalise_email

    rows = contacts_file.rows()
    header = next(rows, None)
    if not header:
        raise ValidationError(_("Le fichier est vide."))
    email_col = _column(header, EMAIL_COLUMNS)
    if email_col is None:
        raise ValidationError(
            _("Aucune colonne « email » parmi : %(columns)s.")
            % {"columns": ", ".join(header)[:200]}
        )
    name_col = _column(header, NAME_COLUMNS)
    profile_col = _column(header, PROFILE_COLUMNS)
    profiles = {value: value for value in Profile.values} | {
        str(label).lower(): value for value, label in Profile.choices
    }
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        raw = row[email_col].strip() if email_col < len(row) else ""
        item = ImportRow(line=line, email=raw[:254])
        try:
            item.email = normalise_email(raw)
        except ValidationError as exc:
            item.error = " ".join(exc.messages)
            yield item
            continue
        first_name = row[name_col].strip() if name_col is not None and name_col < len(row) else ""
        if name_col is not None and header[name_col].strip().lower() == "name":
            first_name = first_name.split(" ")[0]  # Ghost and Substack: the full name
        if len(first_name) > 100 or any(ord(ch) < 32 for ch in first_name):
            item.error = _("Prénom trop long ou illisible.")
            yield item
            continue
        item.first_name = first_name
        if profile_col is not None and profile_col < len(row) and row[profile_col].strip():
            item.profile = profiles.get(row[profile_col].strip().lower(), "")
            if not item.profile:
                item.error = _("Profil inconnu.")
                yield item
                continue
        item.status = export_row_status(header=header, row=row)
        yield item


def contacts_import_preview(
    *, contacts_file: ContactsFile, mailing_list: MailingList, enrol: bool, lines: int = 5
) -> dict:
    """What importing would do, without writing: the first lines as read, how many rows
    of each kind, and how many welcome emails enrolling would send."""
    rows = list(contacts_file_rows(contacts_file))
    valid = [row for row in rows if not row.error]
    emails = {row.email for row in valid if row.status == ACTIVE}
    known = set(
        Subscription.objects.filter(
            mailing_list=mailing_list, contact__email__in=emails
        ).values_list("contact__email", flat=True)
    )
    new_active = len(emails - known)
    steps = sum(
        response or 0
        for _receiver, response in signals.welcome_emails_count.send(
            sender=MailingList, mailing_list=mailing_list
        )
    )
    return {
        "first": rows[:lines],
        "rows": len(rows),
        "active": sum(1 for row in valid if row.status == ACTIVE),
        "unsubscribed": sum(1 for row in valid if row.status == UNSUBSCRIBED),
        "suppressed": sum(1 for row in valid if row.status == SUPPRESSED),
        "errors": sum(1 for row in rows if row.error),
        "new_active": new_active,
        "steps": steps,
        "enrol": enrol,
        "welcome_emails": new_active * steps,  # if enrolled
    }


def contacts_import(
    *,
    contacts_file: ContactsFile,
    mailing_list: MailingList,
    consent_source: str,
    consent_date: date,
    imported_by: str = "",
    enrol: bool = False,
) -> ImportReport:
    """Import people who consented elsewhere, as stated by the editor.

    Each active row becomes an active subscription with its consent evidence (the
    editor's statement of where and when), enrolled in the list's welcome sequences
    only when `enrol`. Rows a platform marks unsubscribed become unsubscribed
    subscriptions; cleaned, bounced or complained ones are suppressed. Invalid rows are
    reported with the reason; importing the same file twice changes nothing; an import
    never overrides what a person did since (an existing subscription stays as is)."""
    report = ImportReport()
    try:
        rows = list(contacts_file_rows(contacts_file))
    except ValidationError as exc:
        report.errors.append((1, "", " ".join(exc.messages)))
        return report
    given_at = timezone.make_aware(datetime.combine(consent_date, time(12, 0)))
    form = f"import : {consent_source}"[:120]
    seen: set[str] = set()
    for row in rows:
        if row.error:
            report.errors.append((row.line, row.email, str(row.error)))
        elif row.email in seen:
            report.unchanged += 1
        elif row.status == SUPPRESSED:
            seen.add(row.email)
            _suppress_row(row)
            report.suppressed += 1
        elif suppression.is_suppressed(row.email):
            seen.add(row.email)
            report.suppressed += 1
        else:
            seen.add(row.email)
            with transaction.atomic():
                _import_row(
                    row,
                    report,
                    mailing_list=mailing_list,
                    consent_source=consent_source,
                    given_at=given_at,
                    form=form,
                    imported_by=imported_by,
                    enrol=enrol,
                )
    return report


def _suppress_row(row) -> None:
    """A row the platform marks cleaned, bounced or complained: suppressed."""
    contact = Contact.objects.filter(email=row.email).first()
    if contact:
        suppression.contact_suppress(contact=contact, reason="import_cleaned")
    else:
        Suppression.objects.get_or_create(
            email_hash=email_hash(row.email), defaults={"reason": "import_cleaned"}
        )


def _import_row(
    row, report: ImportReport, *, mailing_list, consent_source, given_at, form, imported_by, enrol
) -> None:
    """Inside a transaction: one row's contact, subscription and consent evidence; counted
    in `report`. An existing subscription stays as it is."""
    contact, _created = Contact.objects.get_or_create(
        email=row.email,
        defaults={
            "first_name": row.first_name,
            "profile": row.profile,
            "source": f"import:{consent_source}"[:64],
            "created_at": given_at,
            "last_activity_at": given_at,
        },
    )
    if not contact.is_sendable:
        report.suppressed += 1
        return
    active = row.status == ACTIVE
    subscription, created = Subscription.objects.get_or_create(
        contact=contact,
        mailing_list=mailing_list,
        defaults={
            "status": Subscription.Status.ACTIVE if active else Subscription.Status.UNSUBSCRIBED,
            "created_at": given_at,
            "confirmed_at": given_at if active else None,
            "unsubscribed_at": None if active else timezone.now(),
        },
    )
    if not created:
        report.unchanged += 1
        return
    if not active:
        report.unsubscribed += 1
        return
    Consent.objects.record(
        contact=contact,
        mailing_list=mailing_list,
        form=form,
        given_at=given_at,
        user_agent=f"import par {imported_by}"[:500] if imported_by else "import",
    )
    if enrol:
        signals.subscription_confirmed.send(sender=Subscription, subscription=subscription)
        report.enrolled += 1
    report.imported += 1
