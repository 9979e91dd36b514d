"""Lists are data: each list's page comes from its row, at its own address."""

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from config.typography import french_text
from signups.models import MailingList
from signups.pages import rhythm, syllabus

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client():
    user = get_user_model().objects.create_superuser("editrice", "editrice@pouls.example", "x")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def workshop(lists):
    from mailings.bootstrap import create_sequences

    create_sequences(stdout=io.StringIO())
    return lists["atelier"]


def page(path: str) -> str:
    response = Client().get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.content.decode()


def test_the_three_pages_render_their_content(lists):
    html = page("/newsletter/")
    assert "La newsletter de Pouls" in html and "Pas de publicité" in html
    assert 'action="/inscription/newsletter/"' in html
    html = page("/atelier/")
    assert "Comment lire dans les pensées de ses clients" in html
    assert "<h2>Pour qui" in html and "Je rejoins l’atelier" in html
    assert "tous les deux jours" not in html  # the rhythm comes from the sequence
    html = page("/entretiens/")
    assert "Recevoir les entretiens" in html and "Être interviewé·e" in html
    assert 'action="/entretiens/candidature/"' in html


def test_renaming_a_list_keeps_its_page_and_redirects_the_old_address(lists):
    page("/atelier/")  # cached now: the rename must make it stale
    atelier = MailingList.objects.get(slug="atelier")
    atelier.path = "atelier-gratuit"
    atelier.name = "L’atelier gratuit"
    atelier.save()
    html = page("/atelier-gratuit/")
    assert "Comment lire dans les pensées de ses clients" in html
    assert 'href="/atelier-gratuit/" aria-current="page"' in html  # the navigation follows
    response = Client().get("/atelier/")
    assert response.status_code == 301 and response["Location"] == "/atelier-gratuit/"
    # Its signups still go to the same list (the slug does not move).
    assert 'action="/inscription/atelier/"' in html
    # Back to the old address: it is the page again, and the other one redirects.
    atelier.path = "atelier"
    atelier.save()
    assert Client().get("/atelier/").status_code == 200
    assert Client().get("/atelier-gratuit/")["Location"] == "/atelier/"


def test_a_list_created_in_the_admin_gets_a_page_without_code(lists, editor_client):
    data = {
        "name": "Les coulisses",
        "slug": "coulisses",
        "description": "Ce qui se passe derrière Pouls.",
        "is_active": "on",
        "consent_text": "J’accepte de recevoir les coulisses.",
        "consent_version": "1",
        "path": "coulisses",
        "is_listed": "on",
        "page_title": "Dans les coulisses",
        "page_intro": "Un **mot** par mois.\n\n<script>alert(1)</script>",
        "form_heading": "",
        "ask_first_name": "on",
        "answer_label": "",
    }
    response = editor_client.post("/admin/signups/mailinglist/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    html = page("/coulisses/")
    assert "<h1>Dans les coulisses</h1>" in html
    assert "<strong>mot</strong>" in html and "<script>alert" not in html
    assert 'name="first_name"' in html and 'name="answer"' not in html
    assert 'name="profile"' not in html
    assert "/coulisses/" in Client().get("/sitemap.xml").content.decode()
    created = MailingList.objects.get(slug="coulisses")
    change = editor_client.get(f"/admin/signups/mailinglist/{created.pk}/change/")
    assert 'href="/coulisses/"' in change.content.decode()  # « voir la page »


def test_a_list_page_cannot_take_an_address_of_the_site(lists, editor_client):
    newsletter = MailingList.objects.get(slug="newsletter")
    for taken in ("articles", "admin", "static"):
        newsletter.path = taken
        with pytest.raises(Exception, match="déjà une adresse du site"):
            newsletter.full_clean()
    assert Client().get("/articles/").status_code == 200  # still the articles


def test_an_unlisted_page_stays_out_of_the_sitemap(lists):
    MailingList.objects.filter(slug="entretiens").update(is_listed=False)
    MailingList.objects.get(slug="entretiens").save()
    sitemap = Client().get("/sitemap.xml").content.decode()
    assert "/newsletter/" in sitemap and "/entretiens/" not in sitemap
    assert 'name="robots" content="noindex"' in page("/entretiens/")


def test_the_rhythm_reads_in_french():
    assert rhythm(dt.timedelta(0), first=True) == "dès la confirmation"
    assert rhythm(dt.timedelta(days=1), first=False) == "1 jour plus tard"
    assert rhythm(dt.timedelta(days=3), first=False) == "3 jours plus tard"
    assert rhythm(dt.timedelta(hours=1), first=True) == "1 heure après la confirmation"
    assert rhythm(dt.timedelta(days=2, hours=12), first=False) == "2 jours et 12 heures plus tard"


def test_the_workshop_syllabus_matches_its_sequence_after_editing_a_step(workshop):
    from mailings.models import Step

    steps = list(Step.objects.filter(sequence__mailing_list=workshop).order_by("position"))
    assert [s.delay.days for s in steps] == [0, 2, 2, 3, 3]
    html = page("/atelier/")
    assert french_text("Leçon 1 : dès la confirmation.") in html
    assert french_text("Leçon 2 : 2 jours plus tard.") in html
    assert french_text("Leçon 4 : 3 jours plus tard, en semaine.") in html
    assert "Des certitudes, pas des suppositions" in html
    assert "5 leçons par e-mail sur 10 jours" in html
    # The editor changes a lesson: the (cached) page follows.
    steps[1].subject = "Leçon 2 — Ce que vos clients vivent"
    steps[1].delay = dt.timedelta(days=1, hours=6)
    steps[1].save()
    html = page("/atelier/")
    assert french_text("Leçon 2 : 1 jour et 6 heures plus tard.") in html
    assert "Ce que vos clients vivent" in html and "Des certitudes, pas des" not in html
    assert "5 leçons par e-mail sur 9 jours et 6 heures" in html
    lessons = syllabus(workshop)["lessons"]
    assert [lesson["title"] for lesson in lessons][1] == "Ce que vos clients vivent"


def test_a_list_without_the_syllabus_shows_none(workshop, lists):
    assert syllabus(lists["newsletter"]) is None
    assert "Le programme" not in page("/newsletter/")
