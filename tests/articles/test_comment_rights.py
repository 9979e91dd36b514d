"""A reader's comments in their data export and erasure (signups/rights.py)."""

import json

import pytest
from django.test import Client

from articles.models import Comment, Commenter
from signups import rights
from signups.models import Contact

from .helpers import make_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def written():
    article = make_article(comments_open=True)
    contact = Contact.objects.create(email="awa@example.org", first_name="Awa")
    commenter = Commenter.objects.create(
        email="Awa@Example.org", name="Awa Diallo", confirmed_at="2026-01-01T00:00Z"
    )
    other = Commenter.objects.create(email="leo@example.org", name="Léo Martin")
    shown = Comment.objects.create(
        article=article,
        author="Awa Diallo",
        commenter=commenter,
        body="Mon témoignage",
        status="approved",
        ip_address="203.0.113.7",
    )
    reply = Comment.objects.create(
        article=article,
        parent=shown,
        author="Léo Martin",
        commenter=other,
        body="Merci Awa",
        status="approved",
        ip_address="198.51.100.2",
    )
    waiting = Comment.objects.create(
        article=article,
        author="Awa Diallo",
        commenter=commenter,
        body="En attente",
        status="pending",
        ip_address="203.0.113.7",
    )
    return {
        "article": article,
        "contact": contact,
        "shown": shown,
        "reply": reply,
        "waiting": waiting,
        "other": other,
    }


def test_export_holds_the_comments_written_from_the_address(written):
    data = rights.contact_export(contact=written["contact"])
    section = data["comments"]
    assert [a["email"] for a in section["addresses"]] == ["Awa@Example.org"]
    assert [c["text"] for c in section["comments"]] == ["Mon témoignage", "En attente"]
    assert section["comments"][0]["ip_address"] == "203.0.113.7"
    assert section["comments"][0]["url"] == written["article"].get_absolute_url()
    json.dumps(data)  # the download is JSON


def test_erasure_forgets_address_name_and_ip_keeps_published_text(written):
    url = written["article"].get_absolute_url()
    assert "Awa Diallo" in Client().get(url).content.decode()
    rights.contact_erase(contact=written["contact"])
    assert not Commenter.objects.filter(email__iexact="awa@example.org").exists()
    assert not Comment.objects.filter(pk=written["waiting"].pk).exists()
    shown = Comment.objects.get(pk=written["shown"].pk)
    assert (shown.author, shown.ip_address, shown.commenter_id) == ("", None, None)
    assert shown.body == "Mon témoignage"
    # Someone else's reply is left as it was.
    reply = Comment.objects.get(pk=written["reply"].pk)
    assert (reply.author, reply.ip_address, reply.commenter) == (
        "Léo Martin",
        "198.51.100.2",
        written["other"],
    )
    page = Client().get(url).content.decode()
    assert "Awa Diallo" not in page and "Mon témoignage" in page and "Anonyme" in page


def test_erasure_deletes_an_unpublished_comment_only_when_nothing_answers_it(written):
    hidden = written["shown"]
    Comment.objects.filter(pk=hidden.pk).update(status="hidden")
    rights.contact_erase(contact=written["contact"])
    kept = Comment.objects.get(pk=hidden.pk)  # its reply would go with it
    assert (kept.author, kept.ip_address) == ("", None)
    assert Comment.objects.filter(pk=written["reply"].pk).exists()
