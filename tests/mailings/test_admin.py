"""The editor's admin: audience count, schedule, cancel, test send, preview, progress, stats."""

import datetime as dt

import pytest
from anymail.signals import EventType
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from mailings import services
from mailings.models import Delivery, Mailing, Step
from signups.models import MailingList, Profile, Subscription

from .factories import (
    ContactFactory,
    MailingFactory,
    MailingListFactory,
    StepFactory,
    SubscriptionFactory,
    record_event,
    subscribers,
)

pytestmark = pytest.mark.django_db

# The mailing form's A/B subjects (an inline) and settings, left as they come.
NO_VARIANTS = {
    "variants-TOTAL_FORMS": "0",
    "variants-INITIAL_FORMS": "0",
    "ab_share": "20",
    "ab_wait": "04:00:00",
    "ab_measure": "clicks",
}


@pytest.fixture
def editor(client):
    user = get_user_model().objects.create_superuser(
        "editrice", "editrice@pouls.example", "x", first_name="Inès"
    )
    client.force_login(user)
    return user


def test_compose_see_the_audience_then_schedule_at_a_paris_time(client, editor):
    newsletter = MailingListFactory()
    subscribers(3, newsletter, profile=Profile.HR)
    subscribers(2, newsletter, profile=Profile.IT)
    response = client.post(
        "/admin/mailings/mailing/add/",
        {
            "subject": "Trois questions à poser à vos clients",
            "preheader": "Et une à ne jamais poser",
            "body": "Bonjour {prénom},\n\nVoici les trois questions.",
            "lists": [newsletter.pk],
            "profiles": [Profile.HR],
            "send_date": "2026-05-04",
            "send_time": "09:30",
            "time_zone": "Europe/Paris",
            **NO_VARIANTS,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    mailing = Mailing.objects.get()
    page = client.get(f"/admin/mailings/mailing/{mailing.pk}/change/").content.decode()
    assert 'id="audience-count">3<' in page
    assert "Europe/Paris" in page

    confirm = client.get(f"/admin/mailings/mailing/{mailing.pk}/programmer/").content.decode()
    assert 'id="schedule-count">3 contacts<' in confirm
    assert "04/05/2026 09:30 (Europe/Paris)" in confirm
    client.post(f"/admin/mailings/mailing/{mailing.pk}/programmer/")
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SCHEDULED
    assert mailing.scheduled_at == dt.datetime(2026, 5, 4, 7, 30, tzinfo=dt.UTC)


def test_schedule_without_a_date_is_refused_in_french(client, editor):
    mailing = MailingFactory(send_date=None)
    response = client.post(f"/admin/mailings/mailing/{mailing.pk}/programmer/", follow=True)
    assert "Indiquez la date et l’heure d’envoi" in response.content.decode()
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT


def test_test_send_goes_to_the_editor_only_and_writes_no_delivery(client, editor):
    mailing = MailingFactory()
    response = client.post(f"/admin/mailings/mailing/{mailing.pk}/test/", follow=True)
    assert "Test envoyé à editrice@pouls.example" in response.content.decode()
    (message,) = mail.outbox
    assert message.to == ["editrice@pouls.example"]
    assert message.subject.startswith("[TEST] ")
    assert "Bonjour Inès\u202f!" in message.body
    assert Delivery.objects.count() == 0


def test_preview_as_a_given_contact_in_html_and_text(client, editor):
    subscription = SubscriptionFactory(contact=ContactFactory(first_name="Koffi"))
    mailing = MailingFactory(lists=[subscription.mailing_list])
    url = f"/admin/mailings/mailing/{mailing.pk}/apercu/?contact={subscription.contact_id}"
    html = client.get(url).content.decode()
    text = client.get(url + "&format=text").content.decode()
    assert "Bonjour Koffi\u202f!" in html and "<html" in html
    assert "Bonjour Koffi\u202f!" in text and "<p>" not in text
    assert "/desinscription/" in html and "/desinscription/" in text


def test_progress_cancel_and_stats_chart(client, editor):
    subs = subscribers(6)
    mailing = services.mailing_schedule(mailing=MailingFactory(lists=[subs[0].mailing_list]))
    services.mailing_dispatch(mailing_id=mailing.pk)
    services.outbox_send_batch(size=2)
    progress = client.get(f"/admin/mailings/mailing/{mailing.pk}/progression/").json()
    assert progress["total"] == 6 and progress["sent"] == 2 and progress["remaining"] == 4
    page = client.get(f"/admin/mailings/mailing/{mailing.pk}/change/").content.decode()
    assert '<progress id="progress-bar" max="6" value="2">' in page

    response = client.post(f"/admin/mailings/mailing/{mailing.pk}/annuler/", follow=True)
    assert "4 envois n’auront pas lieu" in response.content.decode()
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.CANCELLED

    start = timezone.now() - dt.timedelta(hours=3)
    for i, delivery in enumerate(Delivery.objects.filter(status=Delivery.Status.SENT)):
        record_event(delivery, EventType.DELIVERED, start, f"d{i}")
        record_event(
            delivery,
            EventType.CLICKED,
            start + dt.timedelta(hours=i + 1),
            f"c{i}",
            url="https://pouls.example/articles/ecoutez/",
        )
    page = client.get(f"/admin/mailings/mailing/{mailing.pk}/change/").content.decode()
    assert 'id="stat-delivered">2<' in page and 'id="stat-clicked">2<' in page
    assert "<svg" in page and 'series-clicked"' in page


def test_the_article_admin_action_creates_a_draft_mailing(client, editor, settings):
    from articles.models import Article

    settings.SITE_URL = "https://pouls.example"
    newsletter = MailingListFactory()
    atelier = MailingListFactory(slug="atelier", name="Atelier")
    MailingListFactory(slug="fermee", name="Liste fermée", is_active=False)
    article = Article.objects.create(
        title="Oubliez votre produit, cherchez d’abord vos clients",
        slug="oubliez-votre-produit",
        description="Le dénominateur commun de la réussite et de l’échec.",
        body="## Il était une fois\n\nTony rêvait d’un empire.",
        published_at=timezone.now(),
    )
    action = {"action": "create_mailing_from_article", "_selected_action": [article.pk]}
    # First it asks which lists: the open ones, the newsletter ticked.
    page = client.post("/admin/articles/article/", action).content.decode()
    assert "À quelles listes ?" in page and "Liste fermée" not in page
    choices = page.split("À quelles listes ?")[1]
    assert f'value="{newsletter.pk}" checked' in choices.replace('type="checkbox" ', "") or (
        "checked" in choices.split(f'value="{newsletter.pk}"')[1].split(">")[0]
    )
    assert "checked" not in choices.split(f'value="{atelier.pk}"')[1].split(">")[0]
    assert not Mailing.objects.exists()
    page = client.post("/admin/articles/article/", {**action, "apply": "1"}).content.decode()
    assert "Ce champ est obligatoire." in page and not Mailing.objects.exists()
    response = client.post(
        "/admin/articles/article/", {**action, "apply": "1", "lists": [atelier.pk]}
    )
    mailing = Mailing.objects.get()
    assert response.status_code == 302
    assert response.url == f"/admin/mailings/mailing/{mailing.pk}/change/"
    assert mailing.status == Mailing.Status.DRAFT
    assert mailing.subject == article.title and mailing.preheader == article.description
    assert "Tony rêvait d’un empire." in mailing.body
    assert f"(https://pouls.example{article.get_absolute_url()})" in mailing.body
    assert list(mailing.lists.values_list("slug", flat=True)) == ["atelier"]


def test_a_step_added_in_the_admin_reaches_readers_who_finished_the_sequence(client, editor):
    from mailings.models import Enrolment, Step

    from .factories import SequenceFactory, StepFactory

    sequence = SequenceFactory(name="Atelier", slug="atelier-test")
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0), subject="Leçon 1")
    subscription = SubscriptionFactory(mailing_list=sequence.mailing_list)
    sent_at = timezone.now()
    enrolment = Enrolment.objects.create(
        sequence=sequence,
        contact=subscription.contact,
        subscription=subscription,
        position=1,
        last_sent_at=sent_at,
        next_due_at=None,
    )
    # « Ajouter une étape » on the sequence's page opens the step's own page.
    page = client.get(f"/admin/mailings/sequence/{sequence.pk}/change/").content.decode()
    add = f"/admin/mailings/step/add/?sequence={sequence.pk}"
    assert add in page and "Leçon 1" in page
    form = client.get(add).content.decode()
    assert 'name="position" value="2"' in form  # after the last step
    assert 'name="delay_0"' in form and 'name="delay_1"' in form  # days and hours
    data = {
        "sequence": sequence.pk,
        "position": "2",
        "delay_0": "2",  # days
        "delay_1": "0",  # hours
        "subject": "Leçon 2",
        "preheader": "",
        "body": "La suite.",
        "window_start": "",
        "window_end": "",
    }
    response = client.post(add, data)
    errors = response.context["errors"] if response.status_code == 200 else None
    assert response.status_code == 302, errors
    assert response["Location"] == f"/admin/mailings/sequence/{sequence.pk}/change/"
    assert Step.objects.filter(sequence=sequence).count() == 2
    enrolment.refresh_from_db()
    assert enrolment.next_due_at == sent_at + dt.timedelta(days=2)


def test_editing_a_scheduled_mailing_moves_its_departure(client, editor):
    newsletter = MailingListFactory()
    mailing = services.mailing_schedule(
        mailing=MailingFactory(
            lists=[newsletter], send_date=dt.date(2026, 5, 4), send_time=dt.time(9, 30)
        )
    )
    response = client.post(
        f"/admin/mailings/mailing/{mailing.pk}/change/",
        {
            "subject": mailing.subject,
            "preheader": mailing.preheader,
            "body": mailing.body,
            "lists": [newsletter.pk],
            "send_date": "2026-05-05",
            "send_time": "08:00",
            "time_zone": "America/Montreal",
            **NO_VARIANTS,
        },
    )
    assert response.status_code == 302
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SCHEDULED
    assert mailing.scheduled_at == dt.datetime(2026, 5, 5, 12, 0, tzinfo=dt.UTC)


def test_a_step_has_a_preview_as_a_given_contact_and_a_test_send(client, editor):
    from mailings.models import Step

    from .factories import SequenceFactory, StepFactory

    sequence = SequenceFactory()
    step = StepFactory(
        sequence=sequence,
        position=1,
        delay=dt.timedelta(0),
        subject="Leçon 1",
        body="Bonjour {prénom},\n\nVoici la première leçon.",
    )
    other_list = MailingListFactory(slug="autre-liste", name="Autre")
    reader = ContactFactory(first_name="Koffi")
    SubscriptionFactory(contact=reader, mailing_list=other_list)
    on_list = SubscriptionFactory(contact=reader, mailing_list=sequence.mailing_list)

    page = client.get(f"/admin/mailings/step/{step.pk}/change/").content.decode()
    preview = f"/admin/mailings/sequence/{sequence.pk}/etapes/{step.pk}/apercu/"
    test = f"/admin/mailings/sequence/{sequence.pk}/etapes/{step.pk}/test/"
    assert f'formaction="{preview}"' in page
    assert f'form="step-test-form-{step.pk}"' in page
    assert f'id="step-test-form-{step.pk}" method="post" action="{test}"' in page

    html = client.get(f"{preview}?contact={reader.pk}").content.decode()
    text = client.get(f"{preview}?contact={reader.pk}&format=text").content.decode()
    assert "Bonjour Koffi," in html and "<html" in html and "première leçon" in html
    assert "Bonjour Koffi," in text and "<p>" not in text
    # The unsubscribe link is the one of the sequence's list, not of another list.
    from signups.tokens import make_token

    assert make_token("unsubscribe", on_list.pk) in text
    # Another sequence's id in the URL does not reach this step.
    assert (
        client.get(
            f"/admin/mailings/sequence/{sequence.pk + 1}/etapes/{step.pk}/apercu/"
        ).status_code
        == 404
    )

    response = client.post(test, follow=True)
    assert "Test envoyé à editrice@pouls.example" in response.content.decode()
    (message,) = mail.outbox
    assert message.to == ["editrice@pouls.example"]
    assert message.subject == "[TEST] Leçon 1"
    assert "Bonjour Inès," in message.body
    assert Delivery.objects.count() == 0
    assert Step.objects.get().subject == "Leçon 1"  # the test send changes nothing


def _message_and_urls(kind):
    """A mailing or a sequence step, with its change page, preview and test URLs."""
    from .factories import SequenceFactory, StepFactory

    body = "Le texte reste en français."
    if kind == "mailing":
        mailing = MailingFactory(subject="Trois questions", body=body)
        base = f"/admin/mailings/mailing/{mailing.pk}"
        return f"{base}/change/", f"{base}/apercu/", f"{base}/test/", "mailing-test-form"
    sequence = SequenceFactory()
    step = StepFactory(sequence=sequence, position=1, subject="Trois questions", body=body)
    base = f"/admin/mailings/sequence/{sequence.pk}"
    return (
        f"/admin/mailings/step/{step.pk}/change/",
        f"{base}/etapes/{step.pk}/apercu/",
        f"{base}/etapes/{step.pk}/test/",
        f"step-test-form-{step.pk}",
    )


@pytest.mark.parametrize("kind", ["mailing", "step"])
def test_the_editor_chooses_the_chrome_language_of_a_test_send(client, editor, kind):
    _page, _preview, test, _form = _message_and_urls(kind)
    client.post(test, {"language": "en"})
    client.post(test)  # nothing chosen: French, the site's language
    client.post(test, {"language": "xx"})  # not a language of the site: French too
    english, default, unknown = mail.outbox
    assert english.subject == default.subject == "[TEST] Trois questions"
    assert english.body.startswith("Hello Inès,")
    assert "Unsubscribe in one click:" in english.body and "Se désinscrire" not in english.body
    assert "Le texte reste en français." in english.body  # the editor's words as written
    html = english.alternatives[0][0]
    assert "Unsubscribe in one click</a>" in html and "Se désinscrire" not in html
    for french in (default, unknown):
        assert french.body.startswith("Bonjour Inès,")
        assert "Se désinscrire en un clic :" in french.body
    assert Delivery.objects.count() == 0


@pytest.mark.parametrize("kind", ["mailing", "step"])
def test_the_preview_chrome_follows_the_language_chosen_else_the_contacts(client, editor, kind):
    _page, preview, _test, _form = _message_and_urls(kind)
    reader = ContactFactory(first_name="Ngozi", language="en")
    text = client.get(preview, {"contact": reader.pk, "format": "text"}).content.decode()
    assert text.startswith("Hello Ngozi,")  # as this reader sees it
    html = client.get(preview, {"contact": reader.pk, "language": "fr"}).content.decode()
    assert "Bonjour Ngozi," in html and "Se désinscrire en un clic" in html
    text = client.get(preview, {"language": "en", "format": "text"}).content.decode()
    assert text.startswith("Hello Camille,") and "Le texte reste en français." in text


@pytest.mark.parametrize("kind", ["mailing", "step"])
def test_the_language_choice_works_without_javascript_and_keeps_the_token_out_of_urls(editor, kind):
    """What a browser does with the page's markup: the select and the buttons belong to
    the test form; the test button posts it with its token; a preview button sends it by
    GET with only the language and the format."""
    import re

    from django.test import Client

    page_url, preview, test, form_id = _message_and_urls(kind)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(editor)
    page = browser.get(page_url).content.decode()
    assert re.search(rf'<form id="{form_id}" method="post" action="{test}"></form>', page)
    select = re.search(rf'<select name="language" id="{form_id}-language" form="{form_id}">', page)
    assert select and '<option value="fr" selected>' in page[select.end() :]
    buttons = re.findall(rf'<button type="submit" form="{form_id}"([^>]*)>', page)
    previews = [b for b in buttons if 'formmethod="get"' in b]
    assert len(previews) == 2 and all(f'formaction="{preview}"' in b for b in previews)
    assert all("csrfmiddlewaretoken" not in b for b in previews)
    (test_button,) = [b for b in buttons if 'name="csrfmiddlewaretoken"' in b]
    token = re.search(r'value="([^"]+)"', test_button).group(1)

    response = browser.post(test, {"language": "en", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert mail.outbox[-1].body.startswith("Hello Inès,")
    assert browser.post(test, {"language": "en"}).status_code == 403  # no token, no send
    assert len(mail.outbox) == 1


def test_a_mailing_that_went_out_keeps_its_history_and_cannot_be_deleted(
    client, editor, django_assert_max_num_queries
):
    subs = subscribers(40)
    sent = services.mailing_schedule(mailing=MailingFactory(lists=[subs[0].mailing_list]))
    services.mailing_dispatch(mailing_id=sent.pk)
    draft = MailingFactory(lists=[subs[0].mailing_list], subject="Brouillon à jeter")

    # The page says why, with a count: the rows are never loaded to be listed.
    with django_assert_max_num_queries(15):
        response = client.get(f"/admin/mailings/mailing/{sent.pk}/delete/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "40 envois, gardés dans l’historique" in page
    assert "Envoi :" not in page  # no line per delivery
    client.post(f"/admin/mailings/mailing/{sent.pk}/delete/", {"post": "yes"})
    assert Mailing.objects.filter(pk=sent.pk).exists() and Delivery.objects.count() == 40

    # The « delete selected » action alike; a mailing that never went out can go.
    client.post(
        "/admin/mailings/mailing/",
        {"action": "delete_selected", "_selected_action": [sent.pk, draft.pk], "post": "yes"},
    )
    assert Mailing.objects.count() == 2
    response = client.post(f"/admin/mailings/mailing/{draft.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Mailing.objects.filter(pk=draft.pk).exists()


def test_a_sequence_that_sent_steps_and_a_list_with_subscribers_are_kept(client, editor):
    step = StepFactory()
    sub = SubscriptionFactory(mailing_list=step.sequence.mailing_list)
    Delivery.objects.create(step=step, contact=sub.contact, subscription=sub)

    response = client.get(f"/admin/mailings/sequence/{step.sequence.pk}/delete/")
    assert "1 envoi, gardé dans l’historique" in response.content.decode()
    client.post(f"/admin/mailings/sequence/{step.sequence.pk}/delete/", {"post": "yes"})
    assert Step.objects.filter(pk=step.pk).exists()

    response = client.get(f"/admin/signups/mailinglist/{sub.mailing_list.pk}/delete/")
    assert "1 abonnement, avec sa preuve de consentement" in response.content.decode()
    client.post(f"/admin/signups/mailinglist/{sub.mailing_list.pk}/delete/", {"post": "yes"})
    assert Subscription.objects.filter(pk=sub.pk).exists()

    empty = MailingListFactory(slug="vide", name="Liste vide")
    client.post(f"/admin/signups/mailinglist/{empty.pk}/delete/", {"post": "yes"})
    assert not MailingList.objects.filter(pk=empty.pk).exists()


def test_the_outbox_and_the_events_are_read_only(client, editor):
    subs = subscribers(1)
    mailing = services.mailing_schedule(mailing=MailingFactory(lists=[subs[0].mailing_list]))
    services.mailing_dispatch(mailing_id=mailing.pk)
    delivery = Delivery.objects.get()

    assert client.get(f"/admin/mailings/delivery/{delivery.pk}/delete/").status_code == 403
    response = client.get("/admin/mailings/delivery/")
    assert response.status_code == 200 and "delete_selected" not in response.content.decode()
    assert client.get("/admin/mailings/event/").status_code == 200
