"""One-click unsubscribe (RFC 8058) and the preference centre, through HTTP."""

import json
import re

import pytest
from django.test import Client
from django.test.client import MULTIPART_CONTENT, encode_multipart

from signups import services, signals, tokens
from signups.models import Consent, Contact, Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(lists, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.signup_submit(
            mailing_list=lists["newsletter"], email="lea@example.org", form="t", first_name="Léa"
        )
    subscription = Subscription.objects.get()
    return services.subscription_confirm(subscription=subscription)


def _path(url):
    return "/" + url.split("/", 3)[3]


def test_one_click_post_urlencoded_without_cookies_or_csrf(active):
    ended = []
    signals.subscription_ended.connect(
        lambda subscription, reason, **kw: ended.append(reason), weak=False, dispatch_uid="u"
    )
    try:
        client = Client(enforce_csrf_checks=True)
        url = _path(tokens.unsubscribe_url(active))
        assert "lea" not in url
        response = client.post(
            url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 200
        assert "Location" not in response.headers
        active.refresh_from_db()
        assert active.status == Subscription.Status.UNSUBSCRIBED
        assert ended == ["unsubscribed"]
        again = client.post(
            url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
        assert again.status_code == 200
        assert ended == ["unsubscribed"]
    finally:
        signals.subscription_ended.disconnect(dispatch_uid="u")


def test_one_click_post_multipart(active):
    client = Client(enforce_csrf_checks=True)
    body = encode_multipart("BoUnDaRy", {"List-Unsubscribe": "One-Click"})
    response = client.generic(
        "POST", _path(tokens.unsubscribe_url(active)), body, content_type=MULTIPART_CONTENT
    )
    assert response.status_code == 200
    active.refresh_from_db()
    assert active.status == Subscription.Status.UNSUBSCRIBED


def test_get_never_unsubscribes(active):
    response = Client().get(_path(tokens.unsubscribe_url(active)))
    assert response.status_code == 200
    assert "Confirmer la désinscription" in response.content.decode()
    active.refresh_from_db()
    assert active.status == Subscription.Status.ACTIVE


def test_tampered_unsubscribe_token_changes_nothing(active):
    url = _path(tokens.unsubscribe_url(active))
    forged = url.replace(
        tokens.make_token("unsubscribe", active.pk),
        tokens.make_token("unsubscribe", active.pk)[:-3] + "xyz",
    )
    for method in ("get", "post"):
        response = getattr(Client(), method)(forged)
        assert response.status_code in (400, 404)
    # The preferences token of the same id is not an unsubscribe token.
    other = tokens.make_token("preferences", active.pk)
    assert Client().post(f"/desinscription/{other}/").status_code in (400, 404)
    active.refresh_from_db()
    assert active.status == Subscription.Status.ACTIVE


def test_unsubscribe_button_in_page(active):
    client = Client(enforce_csrf_checks=True)
    url = _path(tokens.unsubscribe_url(active))
    page = client.get(url)
    response = client.post(url, {"csrfmiddlewaretoken": page.context["csrf_token"]})
    assert response.status_code == 200
    assert "Désinscription enregistrée" in response.content.decode()
    active.refresh_from_db()
    assert active.status == Subscription.Status.UNSUBSCRIBED


def test_preferences_update_lists_name_time_zone_language(active, lists):
    client = Client(enforce_csrf_checks=True)
    url = _path(tokens.preferences_url(active.contact))
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "Mes préférences" in html and "lea@example.org" in html
    response = client.post(
        url,
        {
            "csrfmiddlewaretoken": page.context["csrf_token"],
            "action": "save",
            "first_name": "Léa-Marie",
            "time_zone": "America/Martinique",
            "language": "en",
            "lists": [lists["atelier"].pk],
        },
    )
    assert response.status_code == 200
    contact = Contact.objects.get()
    assert (contact.first_name, contact.time_zone, contact.language) == (
        "Léa-Marie",
        "America/Martinique",
        "en",
    )
    statuses = dict(contact.subscriptions.values_list("mailing_list__slug", "status"))
    assert statuses == {"newsletter": "unsubscribed", "atelier": "active"}
    assert Consent.objects.filter(form="preferences", mailing_list=lists["atelier"]).exists()


def test_preferences_refuse_an_unknown_time_zone(active):
    client = Client()
    url = _path(tokens.preferences_url(active.contact))
    response = client.post(url, {"action": "save", "time_zone": "Nowhere/Land", "language": "fr"})
    assert "Choisissez un fuseau horaire de la liste." in response.content.decode()
    assert Contact.objects.get().time_zone == "Europe/Paris"


def test_unsubscribe_from_everything(active, lists):
    services.signup_submit(mailing_list=lists["atelier"], email="lea@example.org", form="t")
    client = Client()
    url = _path(tokens.preferences_url(active.contact))
    response = client.post(url, {"action": "unsubscribe_all"})
    assert response.status_code == 200
    assert set(Subscription.objects.values_list("status", flat=True)) == {"unsubscribed"}


def _data_link(active, django_capture_on_commit_callbacks):
    """Ask for the data link from the preference centre; return the emailed link."""
    from django.core import mail

    from .conftest import link_in

    mail.outbox.clear()
    url = _path(tokens.preferences_url(active.contact))
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(url, {"action": "data_link"})
    assert response.status_code == 200
    assert "Un lien vers vos données vient de partir" in response.content.decode()
    assert [m.to for m in mail.outbox] == [["lea@example.org"]]
    return _path(link_in(mail.outbox[0], r"https?://\S+/mes-donnees/\S+/"))


def test_download_my_data(active, django_capture_on_commit_callbacks):
    page = _data_link(active, django_capture_on_commit_callbacks)
    response = Client().get(f"{page}donnees.json")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["contact"]["email"] == "lea@example.org"
    assert data["subscriptions"][0]["status"] == "active"
    assert data["consents"][0]["text"]


def test_delete_my_data_needs_the_box_ticked(active, django_capture_on_commit_callbacks):
    client = Client()
    url = _data_link(active, django_capture_on_commit_callbacks)
    response = client.post(url, {})
    assert "Cochez la case pour confirmer l’effacement." in response.content.decode()
    assert Contact.objects.get().email == "lea@example.org"
    response = client.post(url, {"confirm_erase": "yes"})
    assert "Vos données sont effacées" in response.content.decode()
    assert Contact.objects.get().email is None
    # The links now lead nowhere.
    assert client.get(url).status_code == 404
    assert client.get(_path(tokens.preferences_url(active.contact))).status_code == 404


def test_the_permanent_links_never_open_export_or_erasure(active):
    """The preference link (in every email) and the unsubscribe link (in every email's
    headers) never reach the data: the preference centre offers only « Recevoir un
    lien », sent to the address."""
    token = tokens.make_token("preferences", active.contact.pk)
    client = Client()
    html = client.get(f"/preferences/{token}/").content.decode()
    assert "Recevoir un lien" in html
    assert "donnees.json" not in html and "confirm_erase" not in html
    assert client.get(f"/preferences/{token}/donnees.json").status_code == 404
    assert client.get(f"/mes-donnees/{token}/").status_code == 404
    assert client.get(f"/mes-donnees/{token}/donnees.json").status_code == 404
    unsubscribe = tokens.make_token("unsubscribe", active.pk)
    assert client.get(f"/mes-donnees/{unsubscribe}/donnees.json").status_code == 404
    client.post(f"/preferences/{token}/", {"action": "erase", "confirm_erase": "yes"})
    assert Contact.objects.get().email == "lea@example.org"


def test_the_data_link_expires_after_an_hour(active, django_capture_on_commit_callbacks):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    url = _data_link(active, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        response = Client().get(url)
        assert response.status_code == 400
        assert "a expiré" in response.content.decode()
        assert Client().get(f"{url}donnees.json").status_code == 400
        Client().post(url, {"confirm_erase": "yes"})
    assert Contact.objects.get().email == "lea@example.org"


@pytest.mark.parametrize("body", ["List-Unsubscribe=One-Click", "", "autre=1"])
def test_the_one_click_answer_never_hands_out_a_preferences_link(active, body):
    response = Client(enforce_csrf_checks=True).post(
        _path(tokens.unsubscribe_url(active)),
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "/preferences/" not in content and "/mes-donnees/" not in content
    active.refresh_from_db()
    assert active.status == Subscription.Status.UNSUBSCRIBED


def test_preferences_tampered_token(active):
    token = tokens.make_token("preferences", active.contact.pk)
    assert Client().get(f"/preferences/{token[:-1]}x/").status_code == 404
    assert (
        Client()
        .get(f"/preferences/{tokens.make_token('unsubscribe', active.contact.pk)}/")
        .status_code
        == 404
    )


def test_preferences_csrf_required(active):
    client = Client(enforce_csrf_checks=True)
    url = _path(tokens.preferences_url(active.contact))
    assert client.post(url, {"action": "unsubscribe_all"}).status_code == 403
    active.refresh_from_db()
    assert active.status == Subscription.Status.ACTIVE


def test_unsubscribe_and_preferences_links_never_expire(active):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    unsubscribe = _path(tokens.unsubscribe_url(active))
    preferences = _path(tokens.preferences_url(active.contact))
    with time_machine.travel(timezone.now() + timedelta(days=5 * 365)):
        assert Client().get(preferences).status_code == 200
        response = Client().post(
            unsubscribe,
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
    active.refresh_from_db()
    assert active.status == Subscription.Status.UNSUBSCRIBED


def test_english_readers_get_english_emails(client, lists, django_capture_on_commit_callbacks):
    from django.core import mail

    client.cookies["django_language"] = "en"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/inscription/newsletter/",
            {"email": "ann@example.org", "consent": "on"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert Contact.objects.get(email="ann@example.org").language == "en"
    assert len(mail.outbox) == 1


def _save_preferences(client, url, **extra):
    page = client.get(url)
    data = {
        "csrfmiddlewaretoken": page.context["csrf_token"],
        "action": "save",
        "time_zone": "Europe/Paris",
        "language": "fr",
        "lists": [s.mailing_list_id for s in Subscription.objects.all()],
        **extra,
    }
    return page, client.post(url, data)


def _ticked(page, name) -> bool:
    (tag,) = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page.content.decode())
    return " checked" in tag


def test_a_reader_refuses_click_tracking_and_takes_it_back(active, settings):
    settings.MAIL_TRACK_CLICKS = True
    client = Client(enforce_csrf_checks=True)
    url = _path(tokens.preferences_url(active.contact))
    page, response = _save_preferences(client, url)  # the box left unticked
    assert "Mesurer mes clics" in page.content.decode()
    assert _ticked(page, "click_tracking")  # tracked unless refused
    assert response.status_code == 200
    assert Contact.objects.get().click_tracking_refused is True
    # Still subscribed: refusing tracking is not leaving.
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE
    page, _response = _save_preferences(client, url, click_tracking="on")
    assert not _ticked(page, "click_tracking")  # the refusal, as saved
    assert Contact.objects.get().click_tracking_refused is False


def test_without_site_click_tracking_the_choice_is_not_offered_nor_changed(active, settings):
    settings.MAIL_TRACK_CLICKS = False
    Contact.objects.update(click_tracking_refused=True)
    client = Client(enforce_csrf_checks=True)
    url = _path(tokens.preferences_url(active.contact))
    page, response = _save_preferences(client, url)
    assert "Mesurer mes clics" not in page.content.decode()
    assert response.status_code == 200
    assert Contact.objects.get().click_tracking_refused is True
