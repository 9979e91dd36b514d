import smtplib
from email import message_from_binary_file, policy

import pytest
from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.core.mail import EmailMultiAlternatives, get_connection

from config.mail import REFUSED, RETRY, UNKNOWN, failure_outcome


def test_each_message_is_one_eml_file_that_parses(tmp_path):
    connection = get_connection("config.mail.EmlFileBackend", file_path=str(tmp_path))
    message = EmailMultiAlternatives(
        subject="Bienvenue à l’atelier « Comment lire dans les pensées de ses clients »",
        body="Bonjour,\nvoici la première leçon.",
        from_email="Pouls <bonjour@example.org>",
        to=["lectrice@example.org"],
        connection=connection,
    )
    message.attach_alternative("<p>Voici la première leçon.</p>", "text/html")
    assert message.send() == 1
    assert EmailMultiAlternatives("Deux", "x", to=["b@example.org"], connection=connection).send()

    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    with files[0].open("rb") as fh:
        parsed = message_from_binary_file(fh, policy=policy.default)
    subjects = {parsed["Subject"].strip()}  # Django folds long subjects after the colon
    with files[1].open("rb") as fh:
        subjects.add(message_from_binary_file(fh, policy=policy.default)["Subject"].strip())
    assert "Bienvenue à l’atelier « Comment lire dans les pensées de ses clients »" in subjects
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"5.1.1 No such user")}), REFUSED),
        (smtplib.SMTPRecipientsRefused({"a@example.org": (452, b"4.2.2 Mailbox full")}), RETRY),
        (smtplib.SMTPSenderRefused(421, b"4.7.0 Try later", "bonjour@example.org"), RETRY),
        (smtplib.SMTPDataError(554, b"5.7.1 Spam"), REFUSED),
        # The connection refused, before any message: nothing left.
        (smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"), RETRY),
        (smtplib.SMTPConnectError(554, b"5.3.2 Not accepting"), RETRY),
        # No answer: the message may have been accepted.
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), UNKNOWN),
        (TimeoutError("timed out"), UNKNOWN),
        (ConnectionResetError(104, "Connection reset by peer"), UNKNOWN),
        # An ESP's answer, by its status; none at all (the request failed): retried.
        (AnymailAPIError("Mailgun 503", status_code=503), RETRY),
        (AnymailAPIError("Mailgun 429", status_code=429), RETRY),
        (AnymailAPIError("Mailgun 400", status_code=400), REFUSED),
        (AnymailAPIError("no response"), RETRY),
        (AnymailRecipientsRefused("all refused"), REFUSED),
        (AnymailInvalidAddress("not an address"), REFUSED),
        # Not a sending error: a bug, raised as it is.
        (KeyError("url"), None),
        (ValueError("bad template"), None),
    ],
)
def test_what_a_failed_hand_over_means_for_its_message(error, outcome):
    assert failure_outcome(error) == outcome
