"""Readers from Mailchimp, Kit, Substack and Ghost: contacts and subscriptions with their
consent history; unsubscribes and bounces respected; nothing sent unless asked."""

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings

from signups import signals
from signups.models import Consent, Contact, MailingList, Subscription
from signups.platform_exports import contacts_import_platform_export, platform_detect
from signups.suppression import is_suppressed

pytestmark = pytest.mark.django_db

READERS = Path(settings.BASE_DIR) / "tests" / "fixtures" / "readers"
IMPORTS = Path(settings.BASE_DIR) / "tests" / "fixtures" / "import"


def load(path: Path, newsletter, **options):
    return contacts_import_platform_export(
        text=path.read_text(encoding="utf-8"), mailing_list=newsletter, **options
    )


@pytest.fixture
def newsletter(lists):
    return MailingList.objects.get(slug="newsletter")


@pytest.fixture
def confirmations():
    received = []

    def receiver(sender, subscription, **kwargs):
        received.append(subscription)

    signals.subscription_confirmed.connect(receiver)
    yield received
    signals.subscription_confirmed.disconnect(receiver)


def status_of(email: str, newsletter) -> str | None:
    sub = Subscription.objects.filter(contact__email=email, mailing_list=newsletter).first()
    return sub.status if sub else None


def test_mailchimp_exports_by_state(newsletter, mailoutbox, confirmations):
    report = load(READERS / "subscribed_members_export_2b1f9c.csv", newsletter)
    assert (report.platform, report.active) == ("mailchimp", 2)
    assert [(line, value) for line, value, _reason in report.errors] == [(4, "pas-une-adresse")]
    camille = Contact.objects.get(email="camille.mc@exemple-lecteurs.fr")
    consent = Consent.objects.get(contact=camille)
    assert consent.form == "import : Mailchimp"
    assert consent.given_at == dt.datetime(2019, 4, 2, 8, 13, 30, tzinfo=dt.UTC)  # CONFIRM_TIME
    assert consent.ip_address == "192.0.2.11"  # CONFIRM_IP
    assert camille.first_name == "Camille"
    jean = Contact.objects.get(email="jean.upper@exemple-lecteurs.fr")
    assert Consent.objects.get(contact=jean).ip_address is None  # « not-an-ip » is not kept
    report = load(READERS / "unsubscribed_members_export_2b1f9c.csv", newsletter)
    assert report.unsubscribed == 1 and report.active == 0
    hugo = Subscription.objects.get(contact__email="hugo.parti@exemple-lecteurs.fr")
    assert hugo.status == Subscription.Status.UNSUBSCRIBED
    assert hugo.unsubscribed_at == dt.datetime(2021, 3, 4, 18, 0, tzinfo=dt.UTC)
    assert not Consent.objects.filter(contact=hugo.contact).exists()
    report = load(READERS / "cleaned_members_export_2b1f9c.csv", newsletter)
    assert report.suppressed == 1
    assert is_suppressed("ines.rebond@exemple-lecteurs.fr")
    assert status_of("ines.rebond@exemple-lecteurs.fr", newsletter) is None
    assert Subscription.objects.mailable().filter(mailing_list=newsletter).count() == 2
    assert mailoutbox == [] and confirmations == []  # nothing sent, no welcome sequence


def test_kit_states(newsletter):
    report = load(READERS / "kit-subscribers.csv", newsletter)
    assert report.platform == "kit"
    assert (report.active, report.unsubscribed, report.suppressed) == (1, 1, 2)
    assert status_of("alice.kit@exemple-lecteurs.fr", newsletter) == "active"
    assert status_of("bob.kit@exemple-lecteurs.fr", newsletter) == "unsubscribed"
    for email in ("chloe.kit@exemple-lecteurs.fr", "damien.kit@exemple-lecteurs.fr"):
        assert is_suppressed(email) and status_of(email, newsletter) is None
    assert Contact.objects.get(email="damien.kit@exemple-lecteurs.fr").suppression_reason == (
        "Kit: complained"
    )


def test_substack_and_ghost_members(newsletter):
    report = load(IMPORTS / "substack" / "email_list.selma.csv", newsletter)
    assert (report.platform, report.active, report.unsubscribed) == ("substack", 1, 1)
    assert status_of("yves.bloque@exemple-lecteurs.fr", newsletter) == "unsubscribed"
    consent = Consent.objects.get(contact__email="nora.abonnee@exemple-lecteurs.fr")
    assert consent.given_at == dt.datetime(2023, 9, 1, 10, 0, tzinfo=dt.UTC)
    report = load(IMPORTS / "ghost" / "members.csv", newsletter)
    assert (report.platform, report.active, report.unsubscribed) == ("ghost", 1, 1)
    lea = Contact.objects.get(email="lea.membre@exemple-lecteurs.fr")
    assert lea.first_name == "Léa"
    assert status_of("bruno.desabonne@exemple-lecteurs.fr", newsletter) == "unsubscribed"


def test_reimport_never_overrides_what_readers_did_since(newsletter):
    load(READERS / "kit-subscribers.csv", newsletter)
    alice = Subscription.objects.get(contact__email="alice.kit@exemple-lecteurs.fr")
    alice.status = Subscription.Status.UNSUBSCRIBED
    alice.save()
    report = load(READERS / "kit-subscribers.csv", newsletter)
    assert report.active == 0 and report.unchanged == 2 and report.suppressed == 2
    alice.refresh_from_db()
    assert alice.status == Subscription.Status.UNSUBSCRIBED
    assert Consent.objects.filter(contact=alice.contact).count() == 1


def test_a_suppressed_address_is_never_made_active(newsletter):
    load(READERS / "cleaned_members_export_2b1f9c.csv", newsletter)
    text = "Email Address,First Name,OPTIN_TIME,LEID\nines.rebond@exemple-lecteurs.fr,Inès,,1\n"
    report = contacts_import_platform_export(text=text, mailing_list=newsletter)
    assert report.suppressed == 1 and report.active == 0
    assert status_of("ines.rebond@exemple-lecteurs.fr", newsletter) is None


def test_welcome_is_sent_only_when_asked(newsletter, confirmations):
    load(READERS / "kit-subscribers.csv", newsletter, welcome=True)
    assert [s.contact.email for s in confirmations] == ["alice.kit@exemple-lecteurs.fr"]


def test_unknown_export_is_refused_clearly(newsletter):
    report = contacts_import_platform_export(text="nom,ville\nA,B\n", mailing_list=newsletter)
    assert report.errors and "Export non reconnu" in report.errors[0][2]
    assert platform_detect(["Email Address", "OPTIN_TIME", "LEID"]) == "mailchimp"


def test_import_readers_command(newsletter, mailoutbox):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command(
        "import_readers", str(IMPORTS / "ghost" / "members.csv"), "--list", "newsletter", stdout=out
    )
    assert "(Ghost) : 1 actif(s), 1 désinscrit(s), 0 bloqué(s)" in out.getvalue()
    assert mailoutbox == []
