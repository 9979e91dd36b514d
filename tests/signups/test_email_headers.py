"""Transactional emails parse as a mail client reads them: exact subject, no defects."""

from email import message_from_bytes, policy

import pytest
from django.core import mail

from signups.emails import send
from signups.models import MailingList


@pytest.mark.django_db
def test_the_confirmation_parses_exactly_without_defects():
    workshop = MailingList.objects.get_or_create(
        slug="atelier",
        defaults={
            "name": "Atelier « Comment lire dans les pensées de ses clients »",
            "consent_text": "J’accepte.",
        },
    )[0]
    send(
        name="confirm",
        to="lectrice@example.org",
        context={"mailing_list": workshop, "url": "https://pouls.example/confirmer/x/"},
    )
    raw = mail.outbox[0].message().as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    # French typography: no-break spaces before « : » and inside « ».
    name = workshop.name.replace("« ", "«\xa0").replace(" »", "\xa0»")
    assert parsed["Subject"] == f"Confirmez votre inscription\xa0: {name}"
    assert not parsed.defects
    assert all(not part.defects for part in parsed.walk())
    assert parsed.get_body(("plain",)) is not None and parsed.get_body(("html",)) is not None
