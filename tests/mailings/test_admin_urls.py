"""No admin address answers 500: malformed ids, a preview's relative paths, test sends."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core import mail

from .factories import MailingFactory, StepFactory, subscribers

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client):
    user = get_user_model().objects.create_superuser(
        "editrice", "editrice@pouls.example", "x", first_name="Inès"
    )
    client.force_login(user)
    return user


def test_malformed_ids_never_answer_500_on_any_admin_page(client, editor):
    client.raise_request_exception = False  # a 500 is what the test looks for
    mailing = MailingFactory()
    paths = []
    for model in (model for model in apps.get_models() if admin.site.is_registered(model)):
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for tail in ("abc/change/", "abc/delete/", "abc/history/", "abc/", "-1/change/"):
            paths.append(base + tail)
        paths.append(f"{base}{mailing.pk}/apercu/asset-1.jpeg/change/")
    for path in paths:
        response = client.get(path)
        assert response.status_code in (302, 403, 404), (path, response.status_code)


def test_a_preview_s_relative_paths_are_not_found(client, editor):
    mailing = MailingFactory()
    for tail in ("asset-1.jpeg", "asset-1.jpeg/change/", "images/a.png"):
        response = client.get(f"/admin/mailings/mailing/{mailing.pk}/apercu/{tail}")
        assert response.status_code == 404, tail
    assert client.get(f"/admin/mailings/mailing/{mailing.pk}/apercu/").status_code == 200


def test_a_test_goes_to_the_addresses_typed(client, editor):
    mailing = MailingFactory()
    response = client.post(
        f"/admin/mailings/mailing/{mailing.pk}/test/",
        {"emails": "camille@exemple.fr, Associee@Exemple.fr\nediter@pouls.example"},
        follow=True,
    )
    assert sorted(m.to[0] for m in mail.outbox) == [
        "associee@exemple.fr",
        "camille@exemple.fr",
        "editer@pouls.example",
    ]
    assert all(m.subject.startswith("[TEST] ") for m in mail.outbox)
    assert "Test envoyé à camille@exemple.fr, associee@exemple.fr" in response.content.decode()


def test_the_test_field_holds_the_editor_s_own_address_by_default(client, editor):
    mailing = MailingFactory()
    page = client.get(f"/admin/mailings/mailing/{mailing.pk}/change/").content.decode()
    assert 'name="emails"' in page and 'value="editrice@pouls.example"' in page


def test_an_editor_without_address_is_asked_to_type_one_and_bad_ones_are_named(client):
    user = get_user_model().objects.create_superuser("admin", "", "x")
    client.force_login(user)
    step = StepFactory()
    url = f"/admin/mailings/sequence/{step.sequence_id}/etapes/{step.pk}/test/"
    page = client.post(url, {"emails": ""}, follow=True).content.decode()
    assert "Indiquez au moins une adresse pour recevoir le test" in page
    page = client.post(url, {"emails": "awa@exemple.fr, awa@"}, follow=True).content.decode()
    assert "Adresse invalide : awa@." in page
    assert mail.outbox == []
    client.post(url, {"emails": "awa@exemple.fr"})
    assert [m.to for m in mail.outbox] == [["awa@exemple.fr"]]


def test_the_audience_list_keeps_working_with_a_subscriber(client, editor):
    subscribers(1)
    assert client.get("/admin/mailings/mailing/").status_code == 200
