"""The email as a mail client sees it, through both sending paths (SMTP bytes, message objects)."""

import re
from email import message_from_bytes, policy

import pytest
from django.core import mail
from django.core.management import call_command

from mailings import rendering
from mailings.models import Delivery
from mailings.services import mailing_dispatch, mailing_schedule, outbox_send_batch
from signups.models import Subscription
from signups.tokens import preferences_url, unsubscribe_url

from .factories import ContactFactory, MailingFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

LONG_SUBJECT = (
    "Écoutez vos clients « avant » de construire : ce que Tony aurait dû faire "
    "pendant les six mois où personne ne s’intéressait à son produit"
)


def send_one(subject=LONG_SUBJECT):
    subscription = SubscriptionFactory(contact=ContactFactory(first_name="Zoé <script>"))
    mailing = MailingFactory(subject=subject, lists=[subscription.mailing_list])
    mailing_schedule(mailing=mailing)
    assert mailing_dispatch(mailing_id=mailing.pk) == 1
    assert outbox_send_batch() == 1
    return mailing, subscription


def parsed_messages(smtp_server):
    if smtp_server is not None:
        return [
            message_from_bytes(raw, policy=policy.default) for _rcpt, raw in smtp_server.messages
        ]
    return [message_from_bytes(m.message().as_bytes(), policy=policy.default) for m in mail.outbox]


@pytest.fixture(params=["smtp", "objects"])
def sent(request):
    server = request.getfixturevalue("smtp_server") if request.param == "smtp" else None
    mailing, subscription = send_one()
    (message,) = parsed_messages(server)
    return message, mailing, subscription


def all_defects(message):
    found = list(message.defects)
    for part in message.walk():
        found.extend(part.defects)
    return found


def test_headers_are_exact_and_the_message_has_no_defects(sent, client):
    message, mailing, subscription = sent
    delivery = Delivery.objects.get()
    assert all_defects(message) == []
    assert message["Subject"] == LONG_SUBJECT
    assert message["To"] == subscription.contact.email
    assert message["From"] == "Pouls <bonjour@pouls.example>"
    one_click = unsubscribe_url(subscription)
    assert one_click.startswith("https://pouls.example/")
    assert message["List-Unsubscribe"] == (
        f"<{one_click}>, <mailto:bonjour@pouls.example?subject=unsubscribe-{one_click.split('/')[-2]}>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == '"Newsletter" <newsletter.pouls.example>'
    assert message["Message-ID"] == f"<delivery-{delivery.pk}@pouls.example>"
    assert delivery.status == Delivery.Status.SENT


def test_both_parts_links_and_identity(sent):
    message, mailing, subscription = sent
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    # The body greets (« Bonjour {prénom} ! »): once, the first name escaped in HTML.
    assert text.count("Bonjour Zoé <script>\u202f!") == 1 and "Bonjour Zoé <script>," not in text
    assert html.count("Bonjour Zoé &lt;script&gt;\u202f!") == 1 and "<script>" not in html
    assert "Lisez notre atelier (https://pouls.example/atelier/)" in text
    for links in (re.findall(r'href="([^"]+)"', html), re.findall(r"https?://\S+", text)):
        assert links
        assert all(link.startswith("https://pouls.example/") for link in links), links
    for part in (text, html):
        assert unsubscribe_url(subscription) in part
        assert preferences_url(subscription.contact) in part
        assert "Pouls, 12 rue des Lecteurs, 75011 Paris" in part
    assert "style=" in html and "<style" not in html  # CSS inlined
    assert "Trois questions pour commencer" in html  # preheader


def test_the_one_click_url_in_the_header_unsubscribes_when_posted(sent, client):
    message, mailing, subscription = sent
    url = re.match(r"<([^>]+)>", message["List-Unsubscribe"]).group(1)
    response = client.post(
        url.removeprefix("https://pouls.example"), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.UNSUBSCRIBED


def test_anymail_tags_and_metadata_name_the_mailing_and_the_delivery():
    mailing, subscription = send_one()
    (message,) = mail.outbox
    delivery = Delivery.objects.get()
    assert message.tags == [f"mailing-{mailing.pk}"]
    assert message.metadata == {"mailing_id": str(mailing.pk), "delivery_id": str(delivery.pk)}
    assert message.track_opens is False and message.track_clicks is False


def test_bootstrap_sequences_render_without_defects():
    from mailings.models import Step
    from mailings.rendering import recipient_values, render_message

    call_command("bootstrap", stdout=open("/dev/null", "w"))
    values = recipient_values(
        delivery_id=1,
        email="a@example.org",
        first_name="Awa",
        subscription_id=1,
        contact_id=1,
        list_slug="atelier",
        list_name="Atelier",
    )
    for step in Step.objects.all():
        raw = render_message(step).personal_bytes(values)
        message = message_from_bytes(raw, policy=policy.default)
        assert all_defects(message) == []
        assert message["Subject"] == step.subject


def test_a_line_too_long_for_8bit_still_sends_exactly(smtp_server):
    long_link = "https://pouls.example/ressources/" + "x" * 1200
    subscription = SubscriptionFactory(contact=ContactFactory(first_name="Zoé"))
    mailing = MailingFactory(lists=[subscription.mailing_list], body=f"Voir {long_link}")
    mailing_schedule(mailing=mailing)
    mailing_dispatch(mailing_id=mailing.pk)
    outbox_send_batch()
    (message,) = parsed_messages(smtp_server)
    assert all_defects(message) == []
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert long_link in text and "Bonjour Zoé," in text
    assert message["List-Unsubscribe"] == (
        f"<{unsubscribe_url(subscription)}>, "
        f"<mailto:bonjour@pouls.example?subject=unsubscribe-{unsubscribe_url(subscription).split('/')[-2]}>"
    )
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_the_mailto_in_the_header_unsubscribes_through_the_inbound_webhook(sent, client, settings):
    """A mail client that uses the mailto: its email reaches the ESP, whose inbound
    webhook (here Postmark's payload shape) posts it to us."""
    import base64
    import json
    from urllib.parse import parse_qs, urlsplit

    message, mailing, subscription = sent
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "pouls:secret-entrant"}
    settings.MAIL_INBOUND_WEBHOOK = True
    mailto = re.search(r"<mailto:([^>]+)>", message["List-Unsubscribe"]).group(1)
    address, subject = (
        urlsplit(f"mailto:{mailto}").path,
        parse_qs(urlsplit(f"mailto:{mailto}").query)["subject"][0],
    )
    payload = {
        "FromFull": {"Email": subscription.contact.email, "Name": ""},
        "ToFull": [{"Email": address, "Name": ""}],
        "Subject": subject,
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "TextBody": "",
        "HtmlBody": "",
        "Headers": [],
        "Attachments": [],
    }
    forged = {**payload, "Subject": f"unsubscribe-{subscription.pk}"}
    auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"pouls:secret-entrant").decode()}
    url = "/webhooks/anymail/postmark/inbound/"
    assert (
        client.post(url, json.dumps(forged), content_type="application/json", **auth).status_code
        == 200
    )
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE  # an unsigned id does nothing
    assert (
        client.post(url, json.dumps(payload), content_type="application/json", **auth).status_code
        == 200
    )
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.UNSUBSCRIBED


def test_the_links_tokens_are_those_signups_reads():
    """The mailing signs its links with a pre-keyed HMAC; signups must read them."""
    from signups import tokens

    def links(subscription_id: int, contact_id: int) -> dict:
        return rendering.recipient_values(
            delivery_id=1,
            email="lecteur@example.org",
            first_name="Awa",
            subscription_id=subscription_id,
            contact_id=contact_id,
            list_slug="lettre",
            list_name="La lettre",
        )

    for pk in (1, 42, 987_654_321):
        values = links(subscription_id=pk, contact_id=pk + 1)
        unsubscribe = values["UNSUB"].rstrip("/").rsplit("/", 1)[1]
        preferences = values["PREFS"].rstrip("/").rsplit("/", 1)[1]
        assert unsubscribe == tokens.make_token("unsubscribe", pk)
        assert preferences == tokens.make_token("preferences", pk + 1)
        assert tokens.read_token("unsubscribe", unsubscribe) == pk
        assert tokens.read_token("preferences", preferences) == pk + 1
        assert values["MAILTO"].endswith(unsubscribe)  # the inbound webhook reads the same
        with pytest.raises(tokens.InvalidToken):
            tokens.read_token("preferences", unsubscribe)


@pytest.mark.parametrize("path", ["smtp", "objects"])
def test_the_chrome_is_in_each_readers_language_rendered_once_per_language(
    path, request, monkeypatch
):
    server = request.getfixturevalue("smtp_server") if path == "smtp" else None
    renders = []
    real_render = rendering.render

    def counting_render(**kwargs):
        renders.append(kwargs["language"])
        return real_render(**kwargs)

    monkeypatch.setattr(rendering, "render", counting_render)
    french = SubscriptionFactory(contact=ContactFactory(first_name="Awa", language="fr"))
    newsletter = french.mailing_list
    languages = {"Awa": "fr", "Jean": "fr-ca", "Ngozi": "en", "Kofi": "en", "Lou": ""}
    for name, language in languages.items():
        if name != "Awa":
            SubscriptionFactory(
                mailing_list=newsletter,
                contact=ContactFactory(first_name=name, language=language),
            )
    mailing = MailingFactory(
        subject="Trois questions à vos clients",
        body="Voici les trois questions, {prénom}.",
        lists=[newsletter],
    )
    mailing_schedule(mailing=mailing)
    assert mailing_dispatch(mailing_id=mailing.pk) == 5
    assert outbox_send_batch() == 5
    assert sorted(renders) == ["en", "fr"]  # once per language, not per reader

    messages = parsed_messages(server)
    assert len(messages) == 5
    for message in messages:
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        name = re.search(r"Voici les trois questions, (\w+)\.", text).group(1)
        # The editor's words stay as written, whatever the reader's language.
        assert str(message["Subject"]) == "Trois questions à vos clients"
        assert f"Voici les trois questions, {name}." in html
        if languages[name] == "en":
            assert text.startswith(f"Hello {name},")
            assert "You are receiving this email because you signed up on" in text
            assert "Unsubscribe in one click:" in text
            assert "Manage my subscriptions:" in text
            assert "Unsubscribe in one click</a>" in html
            assert "Se désinscrire" not in text + html
        else:
            assert text.startswith(f"Bonjour {name},")
            assert "Vous recevez cet e-mail parce que vous vous êtes inscrit·e sur" in text
            assert "Se désinscrire en un clic :" in text
            assert "Adresse postale :" in text
            assert "Unsubscribe" not in text + html


def test_the_preview_shows_the_chrome_in_the_contacts_language():
    from mailings.services import message_preview

    subscription = SubscriptionFactory(contact=ContactFactory(first_name="Ngozi", language="en"))
    mailing = MailingFactory(body="Le corps reste en français.", lists=[subscription.mailing_list])
    html, text = message_preview(message=mailing, contact=subscription.contact)
    assert "Hello Ngozi," in text and "Le corps reste en français." in text
    assert "Unsubscribe in one click" in html


def send_body(body: str, *, first_name: str, server) -> tuple[str, str]:
    """Send a mailing of `body` to one reader; the text (LF line ends) and HTML they get."""
    subscription = SubscriptionFactory(contact=ContactFactory(first_name=first_name))
    mailing = MailingFactory(body=body, lists=[subscription.mailing_list])
    mailing_schedule(mailing=mailing)
    mailing_dispatch(mailing_id=mailing.pk)
    outbox_send_batch()
    (message,) = parsed_messages(server)
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return text, message.get_body(("html",)).get_content()


@pytest.mark.parametrize("path", ["smtp", "objects"])
@pytest.mark.parametrize(
    ("body", "greetings"),
    [
        ("Cette semaine, trois questions.", 1),  # the chrome greets
        ("Bonjour {prénom},\n\nCette semaine, trois questions.", 1),  # the editor greets
        ("\nChère lectrice, cher lecteur,\n\nCette semaine…", 0),
        ("Hier, j’ai écouté trois clients.", 1),  # « Hi… » is no greeting
        ("**Bonjour {prénom} !**\n\nCette semaine…", 0),  # in bold: the editor greets
        ("Mes chers lecteurs,\n\nCette semaine…", 0),
        ("Chercher ses clients : trois pistes.", 1),  # « Cher… » is no greeting here
    ],
)
def test_the_reader_is_greeted_once(path, body, greetings, request):
    server = request.getfixturevalue("smtp_server") if path == "smtp" else None
    text, html = send_body(body, first_name="Zoé", server=server)
    assert text.count("Bonjour Zoé,") == html.count("Bonjour Zoé,") == greetings
    first_words = text.split("\n\n", 1)[0]
    if greetings:
        assert first_words == "Bonjour Zoé,"
    else:  # the body's own first line opens the email
        assert first_words.replace("\xa0", " ").replace("\u202f", " ").strip(
            "*"
        ) == body.strip().split("\n")[0].replace("{prénom}", "Zoé").strip("*")


def test_a_reader_without_a_first_name_is_greeted_without_a_gap(smtp_server):
    body = "Bonjour {prénom} !\n\nMerci {prénom}, et à bientôt."
    text, html = send_body(body, first_name="", server=smtp_server)
    assert text.startswith("Bonjour\u202f!\n\nMerci, et à bientôt.\n\n--")
    assert "<p>Bonjour\u202f!</p>" in html and "Merci, et à bientôt." in html
    assert "  " not in text.split("--")[0] and "@@" not in text + html


@pytest.mark.parametrize("path", ["smtp", "objects"])
def test_french_punctuation_never_starts_a_line(path, request):
    server = request.getfixturevalue("smtp_server") if path == "smtp" else None
    question = "« Qu’est-ce qui vous a le plus coûté, en temps, en argent ou en énergie ? »"
    body = f"{question} Répondez : [le lien](https://pouls.example/atelier/?etape=3) !" * 3
    text, html = send_body(body, first_name="Zoé", server=server)
    nbsp, narrow = "\N{NO-BREAK SPACE}", "\N{NARROW NO-BREAK SPACE}"
    expected = f"«{nbsp}Qu’est-ce qui vous a le plus coûté, en temps, en argent ou en énergie{narrow}?{nbsp}»"
    html = html.replace("&nbsp;", nbsp)
    assert text.replace("\n", " ").count(expected) == html.count(expected) == 3
    assert f"Répondez{nbsp}:" in text and f"){narrow}!" in text
    assert "https://pouls.example/atelier/?etape=3" in text and 'etape=3"' in html  # links intact
    # The text part is wrapped at 78 characters; no line starts with the closing marks.
    assert not [line for line in text.splitlines() if line and line[0] in "?!:;»"]
