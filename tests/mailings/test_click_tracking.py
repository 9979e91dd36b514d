"""Click tracking through the site's own links (MAIL_TRACK_CLICKS): off by default; when
on, the links of a message sent over SMTP lead through a signed redirect that records
the click for that delivery, shown in the results like the ESP's clicks; the
unsubscribe, preference and mailto links stay as they are; a forged link is a 404."""

import re
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from mailings import clicks, rendering, services
from mailings.models import Event, Mailing
from signups.models import Contact

from .factories import MailingFactory, MailingListFactory, StepFactory, subscribers

pytestmark = pytest.mark.django_db
BODY = (
    "Bonjour {prénom} !\n\nLisez [l’article](https://pouls.example/articles/ecoutez/?a=1&b=2), "
    "[l’atelier](/atelier/) et [écrivez-moi](mailto:bonjour@pouls.example)."
)
ARTICLE = "https://pouls.example/articles/ecoutez/?a=1&b=2"
WORKSHOP = "https://pouls.example/atelier/"


def send(count, smtp_server):
    subs = subscribers(count, MailingListFactory())
    mailing = MailingFactory(lists=[subs[0].mailing_list], body=BODY)
    services.mailing_schedule(mailing=mailing)
    Mailing.objects.filter(pk=mailing.pk).update(scheduled_at=timezone.now())
    services.mailing_dispatch(mailing_id=mailing.pk)
    services.outbox_send_batch(size=count)
    services.mailings_finish()
    mailing.refresh_from_db()
    messages = [message_from_bytes(raw, policy=policy.default) for _r, raw in smtp_server.messages]
    return mailing, messages


def parts(message):
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    return html, text


def hrefs(html):
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', html)]


def test_off_by_default_links_go_straight_to_their_pages(settings, smtp_server):
    assert settings.MAIL_TRACK_CLICKS is False
    _mailing, [message] = send(1, smtp_server)
    html, text = parts(message)
    assert ARTICLE in hrefs(html) and WORKSHOP in hrefs(html)
    assert "/lien/" not in html and "/lien/" not in text
    assert ARTICLE in text


def test_links_are_rewritten_per_delivery_and_lead_to_their_page(settings, smtp_server):
    settings.MAIL_TRACK_CLICKS = True
    mailing, messages = send(2, smtp_server)
    deliveries = {d.contact.email: d for d in mailing.deliveries.select_related("contact")}
    seen = set()
    for message in messages:
        delivery = deliveries[message["To"]]
        html, text = parts(message)
        links = hrefs(html)
        tracked = [h for h in links if "/lien/" in h]
        # The article, the workshop and the site's name at the top: each through the site.
        targets = {parse_qs(urlsplit(h).query)["u"][0] for h in tracked}
        assert {ARTICLE, WORKSHOP, "https://pouls.example/"} <= targets
        for link in tracked:
            assert link.startswith(f"https://pouls.example/lien/{delivery.pk}/")
            assert link in text or parse_qs(urlsplit(link).query)["u"][0] == (
                "https://pouls.example/"  # the brand link is in the HTML only
            )
        assert ARTICLE not in links and WORKSHOP not in links
        # Never rewritten: unsubscribe, preferences, mailto.
        assert any(h.startswith("https://pouls.example/desinscription/") for h in links)
        assert any(h.startswith("https://pouls.example/preferences/") for h in links)
        assert "mailto:bonjour@pouls.example" in links
        assert message["List-Unsubscribe"].startswith("<https://pouls.example/desinscription/")
        seen.update(tracked)
    assert len(seen) >= 6  # per delivery: no two readers share a tracked link


def test_a_click_is_recorded_for_its_delivery_then_redirects(settings, smtp_server, admin_client):
    settings.MAIL_TRACK_CLICKS = True
    mailing, messages = send(2, smtp_server)
    by_email = {d.contact.email: d for d in mailing.deliveries.select_related("contact")}
    before = admin_client.get(f"/admin/mailings/mailing/{mailing.pk}/change/").content.decode()
    assert "Aucun clic pour l’instant" in before
    reader = Client()
    clicked_by = []
    for message in messages:
        html, _text = parts(message)
        link = next(h for h in hrefs(html) if "/lien/" in h and "ecoutez" in h)
        response = reader.get(link)
        assert response.status_code == 302 and response["Location"] == ARTICLE
        assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
        clicked_by.append(by_email[message["To"]])
    # The same reader again within the minute (a scanner's prefetch): one event.
    html, _text = parts(messages[0])
    again = next(h for h in hrefs(html) if "/lien/" in h and "ecoutez" in h)
    assert reader.get(again).status_code == 302
    workshop = next(h for h in hrefs(html) if "/lien/" in h and "atelier" in h)
    assert reader.get(workshop)["Location"] == WORKSHOP
    # A HEAD (a link checker) redirects without recording.
    assert reader.head(workshop).status_code == 302

    clicks_ = Event.objects.filter(mailing=mailing, kind="clicked")
    assert sorted(clicks_.filter(detail=ARTICLE).values_list("delivery_id", flat=True)) == sorted(
        d.pk for d in clicked_by
    )
    assert clicks_.filter(detail=WORKSHOP).count() == 1
    first = by_email[messages[0]["To"]].contact
    first.refresh_from_db()
    assert first.last_activity_at is not None

    page = admin_client.get(f"/admin/mailings/mailing/{mailing.pk}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert 'id="stat-clicked"' in content
    assert ARTICLE.replace("&", "&amp;") in content  # clicks per link
    assert "ne rapporte ni les remises" not in content


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d, s, u: (d + 1, s, u),  # another delivery
        lambda d, s, u: (d, s, "https://evil.example/"),  # another URL: no open redirect
        lambda d, s, u: (d, s[:-2] + ("AA" if not s.endswith("AA") else "BB"), u),
        lambda d, s, u: (d, s, ""),
    ],
)
def test_a_forged_or_unknown_link_is_not_found(settings, tamper):
    settings.MAIL_TRACK_CLICKS = True
    values = clicks.link_values("41", (ARTICLE,))
    link = urlsplit(values["TRKA"])
    delivery_id, signature = link.path.strip("/").split("/")[1:]
    assert clicks.valid(41, ARTICLE, signature)
    d, s, u = tamper(int(delivery_id), signature, ARTICLE)
    response = Client().get(f"/lien/{d}/{s}/", {"u": u} if u else {})
    assert response.status_code == 404
    assert not Event.objects.exists()


def test_a_signed_link_to_a_deleted_delivery_still_leads_to_its_page(settings):
    settings.MAIL_TRACK_CLICKS = True
    link = clicks.link_values("999999", (WORKSHOP,))["TRKA"]
    response = Client().get(link.removeprefix("https://pouls.example"))
    assert response.status_code == 302 and response["Location"] == WORKSHOP
    assert not Event.objects.exists()


def test_preview_and_test_sends_keep_the_links_themselves(settings):
    settings.MAIL_TRACK_CLICKS = True
    rendered = rendering.render(
        key="mailing-1", subject="S", preheader="", body=BODY, track_clicks=True
    )
    assert rendered.links[1] == ARTICLE
    assert "@@TRHB@@" in rendered.html and "(@@TRKB@@)" in rendered.text
    values = rendering.recipient_values(
        delivery_id=None,
        email="a@example.org",
        first_name="Awa",
        subscription_id=1,
        contact_id=1,
        list_slug="newsletter",
        list_name="Newsletter",
    )
    html, text = rendered.preview(values)
    assert "/lien/" not in html and ARTICLE.replace("&", "&amp;") in html and ARTICLE in text
    # Through an ESP: the site tracks, the ESP is told not to track again.
    message = rendered.personal_message({**values, "DID": "7"})
    assert message.track_clicks is False and "/lien/7/" in message.body
    settings.MAIL_TRACK_CLICKS = False
    plain = rendering.render(key="mailing-1", subject="S", preheader="", body=BODY)
    # Off: nobody tracks, the ESP included (whatever its account's default).
    assert plain.links == () and plain.personal_message(values).track_clicks is False


def test_a_pasted_unsubscribe_link_is_never_rewritten():
    body = "[Se désinscrire](https://pouls.example/desinscription/abc:def/) ou [lire](/a/)"
    rendered = rendering.render(
        key="mailing-1", subject="S", preheader="", body=body, track_clicks=True
    )
    assert rendered.links == ("https://pouls.example/", "https://pouls.example/a/")
    assert "https://pouls.example/desinscription/abc:def/" in rendered.html


def test_sequence_emails_are_tracked_too_and_the_setting_is_read_per_render(settings):
    step = StepFactory(body="Une leçon : [la vidéo](https://pouls.example/atelier/video/).")
    assert rendering.render_message(step).links == ()
    settings.MAIL_TRACK_CLICKS = True
    assert "https://pouls.example/atelier/video/" in rendering.render_message(step).links


def test_long_links_keep_every_line_of_the_message_short(settings, smtp_server):
    """Lines are sent as 8bit (placeholders are replaced in the bytes): a tracked link
    is longer than the link, and still no line reaches SMTP's 998 bytes."""
    settings.MAIL_TRACK_CLICKS = True
    url = "https://pouls.example/articles/" + "tres-long-chemin-" * 14 + "?utm_source=mail&x=1"
    words = "Un paragraphe de l’article de la semaine, assez long pour remplir la ligne. " * 8
    subs = subscribers(1, MailingListFactory())
    mailing = MailingFactory(
        lists=[subs[0].mailing_list],
        body=f"{words}[lire]({url}) {words}[encore]({url}) {words}[atelier](/atelier/) {words}",
    )
    services.mailing_schedule(mailing=mailing)
    Mailing.objects.filter(pk=mailing.pk).update(scheduled_at=timezone.now())
    services.mailing_dispatch(mailing_id=mailing.pk)
    services.outbox_send_batch(size=1)
    [(_rcpt, raw)] = smtp_server.messages
    assert b"quoted-printable" not in raw
    assert max(len(line) for line in raw.split(b"\r\n")) < 998
    html, text = parts(message_from_bytes(raw, policy=policy.default))
    tracked = [h for h in hrefs(html) if "/lien/" in h]
    assert {parse_qs(urlsplit(h).query)["u"][0] for h in tracked} >= {url, WORKSHOP}


def test_a_reader_who_refused_click_tracking_keeps_the_direct_links(settings, smtp_server):
    settings.MAIL_TRACK_CLICKS = True
    subs = subscribers(2, MailingListFactory())
    Contact.objects.filter(pk=subs[0].contact_id).update(click_tracking_refused=True)
    mailing = MailingFactory(lists=[subs[0].mailing_list], body=BODY)
    services.mailing_schedule(mailing=mailing)
    Mailing.objects.filter(pk=mailing.pk).update(scheduled_at=timezone.now())
    services.mailing_dispatch(mailing_id=mailing.pk)
    services.outbox_send_batch(size=2)
    by_to = {
        message["To"]: message
        for message in (
            message_from_bytes(raw, policy=policy.default) for _r, raw in smtp_server.messages
        )
    }
    refused, tracked = by_to[subs[0].contact.email], by_to[subs[1].contact.email]
    html, text = parts(refused)
    assert ARTICLE in hrefs(html) and WORKSHOP in hrefs(html) and ARTICLE in text
    assert "/lien/" not in html and "/lien/" not in text
    html, text = parts(tracked)
    assert ARTICLE not in hrefs(html) and "/lien/" in html and "/lien/" in text


def test_the_editor_records_the_objection_on_the_contact(admin_client):
    contact = subscribers(1, MailingListFactory())[0].contact
    page = admin_client.get(f"/admin/signups/contact/{contact.pk}/change/")
    assert page.status_code == 200
    assert 'name="click_tracking_refused"' in page.content.decode()
