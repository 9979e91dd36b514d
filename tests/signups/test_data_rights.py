"""Export, erasure, purge of unconfirmed signups, inactive contacts (time-machine)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from config.tasks import daily, handlers
from signups import preference_centre, rights, services, signals
from signups.models import (
    Answer,
    Consent,
    Contact,
    InterviewApplication,
    Subscription,
    Suppression,
    email_hash,
)

from .conftest import link_in, path_of, signup

pytestmark = pytest.mark.django_db


def _make(lists, capture, email="lea@example.org", confirm=True):
    with capture(execute=True):
        services.signup_submit(
            mailing_list=lists["newsletter"],
            email=email,
            form="newsletter:page",
            first_name="Léa",
            profile="hr",
            answer="Mes clients ne répondent pas",
            ip_address="203.0.113.5",
            user_agent="Firefox",
        )
    subscription = Subscription.objects.get(contact__email=email)
    if confirm:
        services.subscription_confirm(subscription=subscription)
    return Contact.objects.get(email=email)


def test_export_contains_contact_subscriptions_consents_and_other_apps_sections(
    lists, django_capture_on_commit_callbacks
):
    contact = _make(lists, django_capture_on_commit_callbacks)

    def deliveries(contact, **kwargs):
        return {"deliveries": [{"subject": "Bienvenue"}]}

    signals.contact_exporting.connect(deliveries, weak=False, dispatch_uid="x")
    try:
        data = rights.contact_export(contact=contact)
    finally:
        signals.contact_exporting.disconnect(dispatch_uid="x")
    assert data["contact"]["email"] == "lea@example.org"
    assert data["subscriptions"][0]["list"] == "newsletter"
    assert data["consents"][0]["ip_address"] == "203.0.113.5"
    assert data["answers"][0]["text"] == "Mes clients ne répondent pas"
    assert data["deliveries"] == [{"subject": "Bienvenue"}]


def test_erasure_leaves_only_the_hash(lists, django_capture_on_commit_callbacks):
    contact = _make(lists, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):  # a signup still to confirm
        services.signup_submit(
            mailing_list=lists["atelier"],
            email="lea@example.org",
            form="atelier:page",
            first_name="Léa",
            answer="Mes clients ne répondent pas",
            ip_address="203.0.113.5",
        )
    assert rights.contact_export(contact=contact)["signups_to_confirm"][0]["list"] == "atelier"
    InterviewApplication.objects.create(
        contact=contact, company="Kora", activity="Café", city="Lomé", country="Togo", story="…"
    )
    seen = []
    signals.contact_erased.connect(
        lambda contact, **kw: seen.append(contact.email), weak=False, dispatch_uid="e"
    )
    try:
        rights.contact_erase(contact=contact)
    finally:
        signals.contact_erased.disconnect(dispatch_uid="e")
    assert seen == ["lea@example.org"]  # sent before the data is wiped
    contact.refresh_from_db()
    assert contact.email is None and contact.first_name == "" and contact.erased_at
    assert not Consent.objects.exists()
    assert not Answer.objects.exists()
    assert not InterviewApplication.objects.exists()
    assert set(Subscription.objects.values_list("status", flat=True)) == {"unsubscribed"}
    assert list(Suppression.objects.values_list("email_hash", flat=True)) == [
        email_hash("lea@example.org")
    ]
    # No table holds the address, the name or the IP any more.
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if not table.startswith("signups_"):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            dump = repr(cursor.fetchall())
            for secret in ("lea@example.org", "Léa", "203.0.113.5", "Mes clients"):
                assert secret not in dump, (table, secret)


def test_erased_address_stays_suppressed_at_signup(
    client, lists, django_capture_on_commit_callbacks
):
    contact = _make(lists, django_capture_on_commit_callbacks)
    rights.contact_erase(contact=contact)
    mail.outbox.clear()
    response = signup(
        client, lists["newsletter"], django_capture_on_commit_callbacks, email="LEA@example.org"
    )
    assert response.status_code == 200
    assert mail.outbox == []
    assert not Contact.objects.filter(email="lea@example.org").exists()


def test_unconfirmed_signups_are_purged_after_30_days(lists, django_capture_on_commit_callbacks):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _make(lists, django_capture_on_commit_callbacks, email="old@example.org", confirm=False)
        _make(lists, django_capture_on_commit_callbacks, email="kept@example.org")
        traveller.shift(timedelta(days=29))
        assert rights.subscriptions_purge_unconfirmed() == 0
        traveller.shift(timedelta(days=2))
        assert "signups.rights.subscriptions_purge_unconfirmed" in handlers("daily")
        daily()
    assert list(Contact.objects.values_list("email", flat=True)) == ["kept@example.org"]
    assert Consent.objects.count() == 1


def test_inactive_contacts_get_a_reconsent_request_then_are_erased(
    lists, django_capture_on_commit_callbacks
):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        silent = _make(lists, django_capture_on_commit_callbacks, email="silent@example.org")
        answers = _make(lists, django_capture_on_commit_callbacks, email="answers@example.org")
        traveller.shift(timedelta(days=2 * 365))
        recent = _make(lists, django_capture_on_commit_callbacks, email="recent@example.org")
        mail.outbox.clear()
        traveller.shift(timedelta(days=365 + 2))
        with django_capture_on_commit_callbacks(execute=True):
            daily()
        assert sorted(m.to[0] for m in mail.outbox) == ["answers@example.org", "silent@example.org"]
        silent.refresh_from_db()
        assert silent.inactive_flagged_at is not None
        # One answers the request: the button in the email.
        message = next(m for m in mail.outbox if m.to == ["answers@example.org"])
        url = path_of(link_in(message, r"https?://\S+/rester-inscrit/\S+/"))
        assert Client().get(url).status_code == 200
        answers.refresh_from_db()
        assert answers.inactive_flagged_at is not None  # a GET changes nothing
        assert Client().post(url).status_code == 200
        traveller.shift(timedelta(days=31))
        with django_capture_on_commit_callbacks(execute=True):
            daily()
    silent.refresh_from_db()
    answers.refresh_from_db()
    recent.refresh_from_db()
    assert silent.erased_at is not None and silent.email is None
    assert answers.erased_at is None and answers.inactive_flagged_at is None
    assert recent.erased_at is None
    assert Suppression.objects.filter(email_hash=email_hash("silent@example.org")).exists()
    assert Consent.objects.filter(contact=answers, form="reconsent").exists()


def test_reconsent_email_contains_no_visitor_text(lists, django_capture_on_commit_callbacks):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _make(lists, django_capture_on_commit_callbacks)
        mail.outbox.clear()
        traveller.shift(timedelta(days=3 * 365 + 1))
        with django_capture_on_commit_callbacks(execute=True):
            rights.contacts_review_inactive()
    (message,) = mail.outbox
    assert "Léa" not in message.body and re.search(r"/preferences/", message.body)


def test_inactive_contacts_who_left_every_list_are_not_written_to(
    lists, django_capture_on_commit_callbacks
):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        contact = _make(lists, django_capture_on_commit_callbacks)
        preference_centre.contact_unsubscribe_all(contact=contact)
        mail.outbox.clear()
        traveller.shift(timedelta(days=3 * 365 + 1))
        with django_capture_on_commit_callbacks(execute=True):
            daily()
        assert mail.outbox == []
        traveller.shift(timedelta(days=31))
        daily()
    contact.refresh_from_db()
    assert contact.erased_at is not None
