"""Files readers attach to their replies: kept apart from the site's media, listed in
the inbox, downloaded by staff only and never opened inline, bounded in size and
number, stored once however often the ESP posts, and gone with an erased contact."""

import base64
from email import message_from_string
from email.policy import default
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from mailings.models import Reply, ReplyAttachment
from signups.rights import contact_erase, contact_export

from .esp_webhooks import auth, sent_delivery, use_esp
from .inbound_payloads import REPLY_TO, mailgun_inbound, postmark_inbound, raw_reply

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% un devis\n" + bytes(range(256)) * 4
PAGE = b"<html><body><script>alert('admin')</script></body></html>"


@pytest.fixture
def inbox(settings):
    settings.MAIL_INBOUND_WEBHOOK = True
    settings.MAIL_REPLY_TO = REPLY_TO
    return settings


def stored_files(settings) -> list[Path]:
    root = Path(settings.STORAGES["replies"]["OPTIONS"]["location"])
    return sorted(path for path in root.rglob("*") if path.is_file())


def _postmark_attachment(name, content, content_type):
    return {
        "Name": name,
        "Content": base64.b64encode(content).decode(),
        "ContentType": content_type,
        "ContentLength": len(content),
        "ContentID": "",
    }


def post_postmark(client, payload):
    return client.post(
        "/webhooks/anymail/postmark/inbound/", payload, content_type="application/json", **auth()
    )


@pytest.fixture
def postmark_reply(inbox, client):
    """A reader answers a mailing through Postmark with a PDF and an HTML page."""
    delivery = sent_delivery()
    use_esp("postmark")
    payload = postmark_inbound(
        to=REPLY_TO, sender=delivery.contact.email, text="Voici mon devis, et ma page."
    )
    payload["Attachments"] = [
        _postmark_attachment("Devis n°12 — été.pdf", PDF, "application/pdf"),
        _postmark_attachment("../../page.html", PAGE, "text/html"),
    ]
    assert post_postmark(client, payload).status_code == 200
    return payload, Reply.objects.get()


def test_attachments_are_stored_apart_and_listed(postmark_reply, settings):
    payload, reply = postmark_reply
    devis, page = reply.attachments.all()
    assert (devis.filename, devis.content_type, devis.size) == (
        "Devis n°12 — été.pdf",
        "application/pdf",
        len(PDF),
    )
    assert page.filename == "page.html"  # no path of the reader's, no leading dot
    files = stored_files(settings)
    assert sorted(path.read_bytes() for path in files) == sorted([PDF, PAGE])
    media = Path(settings.MEDIA_ROOT).resolve()
    assert all(media not in path.resolve().parents for path in files)


def test_the_same_email_posted_again_keeps_one_copy(postmark_reply, client, settings):
    payload, _reply = postmark_reply
    assert post_postmark(client, payload).status_code == 200
    assert Reply.objects.count() == 1 and ReplyAttachment.objects.count() == 2
    assert len(stored_files(settings)) == 2


def test_staff_download_a_file_never_open_it(postmark_reply, client):
    _payload, reply = postmark_reply
    editor = get_user_model().objects.create_superuser("editrice", "e@pouls.example", "x")
    client.force_login(editor)
    listing = client.get(reverse("admin:mailings_reply_changelist")).content.decode()
    assert listing.count("avec pièces jointes") == 1
    Reply.objects.create(from_email="sans@example.org", subject="Sans fichier")
    listing = client.get(reverse("admin:mailings_reply_changelist")).content.decode()
    assert "Sans fichier" in listing and listing.count("avec pièces jointes") == 1
    page = client.get(reverse("admin:mailings_reply_change", args=[reply.pk])).content.decode()
    assert "Pièces jointes" in page and "Devis n°12 — été.pdf" in page
    html_file = reply.attachments.get(content_type="text/html")
    url = reverse("admin:mailings_reply_attachment", args=[reply.pk, html_file.pk])
    assert f'href="{url}" download' in page
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PAGE
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    # Another reply's id in the URL finds nothing.
    other = Reply.objects.create(from_email="x@example.org")
    wrong = reverse("admin:mailings_reply_attachment", args=[other.pk, html_file.pk])
    assert client.get(wrong).status_code == 404


def test_only_staff_who_may_read_replies_download(postmark_reply, client):
    _payload, reply = postmark_reply
    attachment = reply.attachments.first()
    url = reverse("admin:mailings_reply_attachment", args=[reply.pk, attachment.pk])
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    staff = get_user_model().objects.create_user("stagiaire", "s@pouls.example", "x")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    assert client.get(url).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_reply"))
    assert client.get(url).status_code == 200


def test_too_large_or_too_many_files_are_listed_not_kept(inbox, client, settings):
    settings.MAIL_INBOUND_ATTACHMENT_MAX_BYTES = 500
    settings.MAIL_INBOUND_ATTACHMENTS_MAX = 2
    delivery = sent_delivery()
    use_esp("postmark")
    payload = postmark_inbound(to=REPLY_TO, sender=delivery.contact.email)
    payload["Attachments"] = [
        _postmark_attachment("petit.txt", b"bonjour", "text/plain"),
        _postmark_attachment("gros.pdf", PDF, "application/pdf"),
        _postmark_attachment("troisieme.txt", b"encore", "text/plain"),
    ]
    assert post_postmark(client, payload).status_code == 200
    small, large, third = Reply.objects.get().attachments.all()
    assert small.file and not small.not_kept
    assert not large.file and large.not_kept == "plus de 500\xa0octets" and large.size == len(PDF)
    assert not third.file and "2 premières" in third.not_kept
    assert [path.read_bytes() for path in stored_files(settings)] == [b"bonjour"]


def test_a_mailgun_reply_with_raw_mime_keeps_its_attachment(inbox, client, settings):
    delivery = sent_delivery()
    use_esp("mailgun")
    raw = raw_reply(to=REPLY_TO, sender=delivery.contact.email, text="Ci-joint.")
    message = message_from_string(raw, policy=default)
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="devis.pdf")
    form = mailgun_inbound(message.as_string(), recipient=REPLY_TO, sender=delivery.contact.email)
    assert client.post("/webhooks/anymail/mailgun/inbound/", form, **auth()).status_code == 200
    (attachment,) = Reply.objects.get().attachments.all()
    assert attachment.filename == "devis.pdf"
    assert attachment.file.open("rb").read() == PDF


def test_an_erased_contact_takes_the_files_along(
    postmark_reply, settings, django_capture_on_commit_callbacks
):
    _payload, reply = postmark_reply
    exported = contact_export(contact=reply.contact)["mailings"]["replies"]
    assert exported[0]["attachments"] == ["Devis n°12 — été.pdf", "page.html"]
    with django_capture_on_commit_callbacks(execute=True):
        contact_erase(contact=reply.contact)
    assert not ReplyAttachment.objects.exists()
    assert stored_files(settings) == []


MESSY = """From: Awa <{sender}>
To: {to}
Subject: =?utf-8?q?Re=3A_Le=C3=A7on?=
Message-ID: <messy@mail.example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="B"

--B
Content-Type: multipart/related; boundary="R"

--R
Content-Type: text/html; charset=utf-8

<p>Merci, voici mon devis <img src="cid:logo"></p>
--R
Content-Type: image/png; name="image001.png"
Content-Disposition: inline; filename="image001.png"
Content-ID: <logo>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--R--
--B
Content-Type: application/pdf
Content-Disposition: attachment; filename*=utf-8''Devis%20%C3%A9t%C3%A9%202026.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--B
Content-Type: application/octet-stream
Content-Disposition: attachment
Content-Transfer-Encoding: base64

AAEC
--B
Content-Type: message/rfc822
Content-Disposition: attachment

From: client@example.org
Subject: Fwd: ma commande
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="F"

--F
Content-Type: text/plain; charset=utf-8

Bonjour, je voudrais commander.
--F
Content-Type: application/pdf
Content-Disposition: attachment; filename="commande.pdf"

%PDF-1.4
--F--
--B
Content-Type: text/plain; name="=?iso-8859-1?q?r=E9sum=E9.txt?="
Content-Disposition: attachment; filename="=?iso-8859-1?q?r=E9sum=E9.txt?="

bonjour
--B
Content-Type: application/vnd.ms-excel
Content-Disposition: attachment; filename="{long_name}.csv"

a;b
--B--
"""


def test_attachments_as_real_mail_programs_send_them(inbox, client):
    """Outlook's inline logo, an RFC 2231 name, a nameless file, a forwarded email with
    its own attachment, an encoded-word name in Latin-1, a name longer than the column:
    each kept once, named; the reply's text is the reader's, not the forwarded email's."""
    delivery = sent_delivery()
    use_esp("mailgun")
    raw = MESSY.format(sender=delivery.contact.email, to=REPLY_TO, long_name="très long " * 40)
    form = mailgun_inbound(raw, recipient=REPLY_TO, sender=delivery.contact.email)
    assert client.post("/webhooks/anymail/mailgun/inbound/", form, **auth()).status_code == 200
    reply = Reply.objects.get()
    assert reply.text == "Merci, voici mon devis"
    names = [a.filename for a in reply.attachments.all()]
    assert names[:5] == [
        "image001.png",
        "Devis été 2026.pdf",
        "piece-jointe-3.bin",
        "piece-jointe-4.eml",
        "résumé.txt",
    ]
    assert len(names) == 6  # the forwarded email's own attachment stays inside it
    assert len(names[5]) <= 255 and names[5].startswith("très long") and names[5].endswith(".csv")
    forwarded = reply.attachments.get(content_type="message/rfc822")
    kept = forwarded.file.open("rb").read()
    assert b"Bonjour, je voudrais commander." in kept and b"commande.pdf" in kept
    assert reply.attachments.get(filename="Devis été 2026.pdf").file.open("rb").read() == (
        b"%PDF-1.4\n"
    )
