"""A signup for an address already known changes nothing of that contact until the
address's owner confirms by the emailed link (on PostgreSQL the signup statement, on
SQLite its ORM twin: the suite runs on both)."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from signups import rights, services
from signups.models import Answer, Consent, Contact, PendingSignup, Subscription

from .conftest import link_in, path_of, signup

pytestmark = pytest.mark.django_db

PHISHING = "Cher client, votre compte est suspendu : www.evil.example/login"


def _snapshot(contact):
    contact = Contact.objects.get(pk=contact.pk)
    return (
        {
            field.attname: getattr(contact, field.attname)
            for field in Contact._meta.concrete_fields
            if field.attname != "transactional_sent_at"  # the notice's own 24-hour slot
        },
        list(contact.consents.values_list("pk", flat=True).order_by("pk")),
        list(contact.answers.values_list("pk", flat=True).order_by("pk")),
    )


def _attack(list_, email, capture, ip="198.51.100.66"):
    return signup(
        Client(),
        list_,
        capture,
        ip=ip,
        email=email,
        first_name=PHISHING,
        profile="hr",
        answer="Cliquez ici : www.evil.example",
        time_zone="Asia/Tokyo",
    )


def _confirm(url):
    client = Client(enforce_csrf_checks=True)
    page = client.get(path_of(url))
    if "signups/confirm.html" not in [template.name for template in page.templates]:
        return page  # a void or used link's page: no button to press
    return client.post(path_of(url), {"csrfmiddlewaretoken": page.context["csrf_token"]})


def test_a_stranger_cannot_change_a_confirmed_reader(lists, django_capture_on_commit_callbacks):
    """The reported attack: a confirmed reader with no first name, every email greeting
    them by it; a stranger signs their address up again with a phishing line."""
    newsletter = lists["newsletter"]
    with django_capture_on_commit_callbacks(execute=True):
        services.signup_submit(
            mailing_list=newsletter, email="victim@example.org", form="t", profile="it"
        )
    subscription = Subscription.objects.get()
    services.subscription_confirm(subscription=subscription)
    long_ago = timezone.now() - timedelta(days=3 * 365)
    Contact.objects.update(
        last_activity_at=long_ago, inactive_flagged_at=long_ago, transactional_sent_at=long_ago
    )
    contact = Contact.objects.get()
    before = _snapshot(contact)

    response = _attack(newsletter, "victim@example.org", django_capture_on_commit_callbacks)
    fresh = signup(
        Client(), newsletter, django_capture_on_commit_callbacks, email="new@example.org"
    )

    assert response.status_code == fresh.status_code == 200
    assert response.redirect_chain == fresh.redirect_chain  # the same answer: no enumeration
    assert _snapshot(contact) == before  # name, profile, flags, consents, answers
    assert Subscription.objects.get(pk=subscription.pk).status == Subscription.Status.ACTIVE
    notice = [m for m in mail.outbox if m.to == ["victim@example.org"]][-1]
    assert "déjà inscrit·e" in notice.subject
    assert "evil" not in notice.body and "suspendu" not in notice.body
    # The submission waits for the owner, who alone receives the link that applies it;
    # unconfirmed, it goes after 30 days.
    assert PendingSignup.objects.count() == 1
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        rights.subscriptions_purge_unconfirmed()
    assert not PendingSignup.objects.exists()
    assert _snapshot(contact) == before


def test_a_subscribed_reader_confirms_new_details_from_the_notice(
    lists, django_capture_on_commit_callbacks
):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        signup(Client(), lists["newsletter"], django_capture_on_commit_callbacks, first_name="")
        assert _confirm(link_in(mail.outbox[0])).status_code == 200
        contact = Contact.objects.get()
        assert contact.first_name == ""
        traveller.shift(timedelta(days=2))
        signup(
            Client(),
            lists["newsletter"],
            django_capture_on_commit_callbacks,
            first_name="Léa",
            answer="Fidéliser",
            ip="203.0.113.20",
        )
        notice = mail.outbox[-1]
        assert "déjà inscrit·e" in notice.subject
        assert Contact.objects.get().first_name == ""
        update = link_in(notice)
        assert "/confirmer/" in update
        assert _confirm(update).status_code == 200
        assert _confirm(update).status_code == 200  # « déjà inscrit·e »: applied once
    contact.refresh_from_db()
    assert contact.first_name == "Léa"
    assert contact.consents.count() == 2
    assert list(contact.answers.values_list("text", flat=True).order_by("pk")) == [
        "Trouver mes premiers clients",
        "Fidéliser",
    ]
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE
    assert not PendingSignup.objects.exists()


def test_a_stranger_cannot_change_a_pending_reader_and_the_owner_s_link_applies_their_own(
    lists, django_capture_on_commit_callbacks
):
    """The owner signs up, then a stranger signs the same address up before the owner
    clicks: the contact keeps the owner's values, and the owner's link does not apply
    the stranger's (submitted after that email left)."""
    atelier = lists["atelier"]
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        signup(Client(), atelier, django_capture_on_commit_callbacks, email="lea@example.org")
        contact = Contact.objects.get()
        before = _snapshot(contact)
        assert before[0]["first_name"] == "Léa"
        url = link_in(mail.outbox[0])
        traveller.shift(timedelta(minutes=5))
        _attack(atelier, "lea@example.org", django_capture_on_commit_callbacks)
        assert _snapshot(contact) == before
        assert PendingSignup.objects.count() == 1
        assert len(mail.outbox) == 1  # one service email per address per 24 hours

        traveller.shift(timedelta(minutes=5))
        assert _confirm(url).status_code == 200
    contact.refresh_from_db()
    assert contact.first_name == "Léa" and contact.profile == "entrepreneur"
    assert contact.time_zone == "America/Toronto"  # Montréal, by its name today
    assert list(Consent.objects.values_list("ip_address", flat=True)) == ["203.0.113.7"]
    assert list(Answer.objects.values_list("text", flat=True)) == ["Trouver mes premiers clients"]
    assert not PendingSignup.objects.exists()
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE


def test_a_known_reader_s_new_details_apply_when_they_confirm(
    lists, django_capture_on_commit_callbacks
):
    """A newsletter reader joins the workshop with a first name and an answer: kept
    aside, then applied by the workshop's confirmation link, with its consent."""
    with django_capture_on_commit_callbacks(execute=True):
        services.signup_submit(
            mailing_list=lists["newsletter"], email="lea@example.org", form="newsletter:page"
        )
    services.subscription_confirm(subscription=Subscription.objects.get())
    Contact.objects.update(transactional_sent_at=timezone.now() - timedelta(days=2))
    contact = Contact.objects.get()
    before = _snapshot(contact)
    mail.outbox.clear()

    signup(Client(), lists["atelier"], django_capture_on_commit_callbacks, email="lea@example.org")
    assert _snapshot(contact) == before
    assert Subscription.objects.get(mailing_list=lists["atelier"]).status == "pending"
    assert PendingSignup.objects.count() == 1

    assert _confirm(link_in(mail.outbox[0])).status_code == 200
    contact.refresh_from_db()
    assert contact.first_name == "Léa" and contact.profile == "entrepreneur"
    consent = contact.consents.get(mailing_list=lists["atelier"])
    assert consent.text == lists["atelier"].consent_text
    assert consent.form == "atelier:page" and consent.ip_address == "203.0.113.7"
    assert consent.user_agent == "Mozilla/5.0 (test)"
    answer = contact.answers.get()
    assert answer.text == "Trouver mes premiers clients" and answer.profile == "entrepreneur"
    assert not PendingSignup.objects.exists()


def test_unconfirmed_submissions_for_a_known_address_are_dropped(
    lists, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.signup_submit(mailing_list=lists["newsletter"], email="a@example.org", form="t")
    services.subscription_confirm(subscription=Subscription.objects.get())
    contact = Contact.objects.get()
    before = _snapshot(contact)
    _attack(lists["atelier"], "a@example.org", django_capture_on_commit_callbacks)
    assert PendingSignup.objects.count() == 1
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        rights.subscriptions_purge_unconfirmed()
    assert not PendingSignup.objects.exists()
    assert not Subscription.objects.filter(mailing_list=lists["atelier"]).exists()
    assert _snapshot(contact) == before


def test_a_stranger_cannot_bring_back_or_purge_an_unsubscribed_reader(
    lists, django_capture_on_commit_callbacks
):
    """A re-signup of a reader who left keeps them unsubscribed (their choice and its
    date), and the unconfirmed request expires without deleting their subscription,
    consent evidence or contact."""
    with django_capture_on_commit_callbacks(execute=True):
        services.signup_submit(mailing_list=lists["newsletter"], email="a@example.org", form="t")
    subscription = Subscription.objects.get()
    services.subscription_confirm(subscription=subscription)
    services.subscription_unsubscribe(subscription=subscription)
    subscription.refresh_from_db()
    contact = Contact.objects.get()
    before = _snapshot(contact)
    Contact.objects.update(transactional_sent_at=timezone.now() - timedelta(days=2))
    mail.outbox.clear()

    _attack(lists["newsletter"], "a@example.org", django_capture_on_commit_callbacks)
    again = Subscription.objects.get()
    assert again.status == Subscription.Status.UNSUBSCRIBED
    assert again.unsubscribed_at == subscription.unsubscribed_at
    assert [m.subject for m in mail.outbox] == ["Confirmez votre inscription\xa0: Newsletter"]
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        rights.subscriptions_purge_unconfirmed()
    assert Subscription.objects.get().status == Subscription.Status.UNSUBSCRIBED
    assert _snapshot(contact) == before
    assert not PendingSignup.objects.exists()


def test_an_unsubscribed_reader_comes_back_by_their_own_click(
    lists, django_capture_on_commit_callbacks
):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        signup(Client(), lists["newsletter"], django_capture_on_commit_callbacks)
        old_link = link_in(mail.outbox[0])
        assert _confirm(old_link).status_code == 200
        services.subscription_unsubscribe(subscription=Subscription.objects.get())
        traveller.shift(timedelta(days=2))
        assert _confirm(old_link).status_code == 410  # sent before leaving: void
        signup(
            Client(),
            lists["newsletter"],
            django_capture_on_commit_callbacks,
            first_name="Léa-Rose",
            ip="203.0.113.9",
        )
        assert Subscription.objects.get().status == Subscription.Status.UNSUBSCRIBED
        assert _confirm(link_in(mail.outbox[-1])).status_code == 200
    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.unsubscribed_at is None
    contact = Contact.objects.get()
    assert contact.first_name == "Léa-Rose"
    assert list(contact.consents.values_list("ip_address", flat=True).order_by("pk")) == [
        "203.0.113.7",
        "203.0.113.9",
    ]
