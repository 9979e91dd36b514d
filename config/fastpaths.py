"""Fast paths: Pouls' few copies of a library's internals, and the switch that
turns every one of them off.

A fast path does what an upstream call does, faster, by relying on how that
library works inside. Each one lives in its app's `fastpaths` module
(`mailings/fastpaths/`, `signups/fastpaths.py`), names the upstream it mirrors
and the version it was checked against, and runs only while `POULS_FASTPATHS`
is on (the default). Off, every caller goes through the upstream, public call:
CI runs the whole suite both ways, and tests/foundation/test_fastpaths.py checks
that both give the same bytes.

The versions below are the ones the copies were read against; the test fails
when the installed Django or anymail is another minor version, so an upgrade
re-reads each copy (or turns the switch off) before it ships.
"""

from dataclasses import dataclass

from django.conf import settings

#: Distribution → the minor version every copy below was checked against.
CHECKED_AGAINST = {"Django": "5.2", "django-anymail": "15.2"}


@dataclass(frozen=True)
class Copy:
    where: str  # the Pouls object that holds the copy (module.attribute)
    upstream: str  # what it mirrors
    distribution: str  # the package that ships the upstream (a key of CHECKED_AGAINST)
    gain: str  # what the copy saves, measured by the benchmark named here


COPIES = (
    Copy(
        "mailings.fastpaths.tokens.token_maker",
        "django.core.signing.Signer.sign (salted_hmac, b64_encode)",
        "Django",
        "the HMAC key derived once per message, not per token: "
        "tests/perf/bench_mail_smtp.py and bench_mail_esp.py",
    ),
    Copy(
        "mailings.fastpaths.esp.MailgunBatchBackend",
        "anymail.backends.mailgun.MailgunPayload (BasePayload's attribute tables, "
        "EmailAddress internals, the urlencoded form)",
        "django-anymail",
        "addresses split, not parsed; a multipart form: tests/perf/bench_mail_esp.py",
    ),
    Copy(
        "mailings.fastpaths.esp.SendGridBatchBackend",
        "anymail.backends.sendgrid.SendGridPayload.serialize_data (batch personalizations)",
        "django-anymail",
        "one pass over the recipients instead of five: tests/perf/bench_mail_esp.py",
    ),
    Copy(
        "signups.fastpaths.smtp_envelope_and_bytes",
        "django.core.mail.backends.smtp.EmailBackend._send (sanitize_address, "
        "message().as_bytes, connection.sendmail)",
        "Django",
        "a signup confirmation serialised once per run and filled in per reader: the "
        "worker's CPU per confirmation 0.4 ms instead of 1.2 ms (measured in process, "
        "docs/performance.md; tests/perf/bench_signup.py charges it to the signup)",
    ),
    Copy(
        "signups.fastpaths.signup_cursor",
        "django.db.backends.base.base.BaseDatabaseWrapper._prepare_cursor",
        "Django",
        "the signup statement parsed and planned once per connection: PostgreSQL's CPU "
        "per signup 0.50 ms instead of 0.83 ms, about 6 % of the signup's CPU over every "
        "component (4.9 ms, tests/perf/bench_signup.py); measured in process, this copy on "
        "and off, 5 rounds of 300 signups, on a shared machine",
    ),
)


def enabled() -> bool:
    """True while the fast paths run (`POULS_FASTPATHS`, on by default)."""
    return settings.POULS_FASTPATHS
