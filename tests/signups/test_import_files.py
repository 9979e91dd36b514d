"""CSV import of the files people have: French Excel (semicolons, Windows-1252, or
UTF-8 with a BOM), tab-separated text, and the exports of Mailchimp, Kit, Substack and
Ghost, whose unsubscribed and cleaned rows never become active. The page shows the
lines as read before importing, and how many welcome emails enrolling would send."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mailings.models import Enrolment, Sequence, Step
from signups.models import Contact, Subscription, Suppression, email_hash

pytestmark = pytest.mark.django_db
FILES = Path(__file__).parent / "files"


def _read(admin_client, lists, name, **extra):
    data = {
        "mailing_list": lists["newsletter"].pk,
        "consent_source": "Ancien outil",
        "consent_date": "2026-03-14",
        **extra,
    }
    response = admin_client.post(
        "/admin/signups/contact/import/",
        {**data, "file": SimpleUploadedFile(name, (FILES / name).read_bytes())},
    )
    assert response.status_code == 200
    return response, data


def _import(admin_client, lists, name, **extra):
    preview, data = _read(admin_client, lists, name, **extra)
    assert preview.context["preview"] is not None, preview.context["form"].errors
    token = preview.context["form"]["token"].value()
    response = admin_client.post(
        "/admin/signups/contact/import/", {**data, "token": token, "confirm": "Importer"}
    )
    return response.context["report"]


def test_french_excel_semicolons_in_windows_1252_are_read_before_importing(admin_client, lists):
    response, _data = _read(admin_client, lists, "excel-fr-point-virgule.csv")
    preview = response.context["preview"]
    html = response.content.decode()
    assert preview["file"].encoding == "Windows-1252" and preview["file"].delimiter == ";"
    assert "Encodage : Windows-1252 · séparateur : point-virgule." in html
    first = preview["first"]
    assert [row.email for row in first] == [
        "leonie.bechard@exemple.fr",
        "francois@exemple.fr",
        "chloe@exemple.fr",
        "mehdi@exemple.fr",
    ]
    assert [row.first_name for row in first] == ["Léonie", "François", "Chloé", "Mehdi"]
    assert first[2].profile == "hr"
    assert "François" in html and "Chloé" in html
    assert not Contact.objects.exists()  # nothing written by reading

    report = _import(admin_client, lists, "excel-fr-point-virgule.csv")
    assert report.imported == 4 and not report.errors
    assert Contact.objects.get(email="francois@exemple.fr").first_name == "François"


def test_excel_utf8_with_a_bom_and_tab_separated_files(admin_client, lists):
    report = _import(admin_client, lists, "excel-fr-utf8-bom.csv")
    assert report.imported == 3 and not report.errors
    awa = Contact.objects.get(email="awa.diallo@exemple.sn")
    assert awa.first_name == "Awa" and awa.profile == "freelancer"
    assert Contact.objects.filter(email="zoë@exemple.fr").exists()
    response, _data = _read(admin_client, lists, "tabulations.tsv")
    assert response.context["preview"]["file"].delimiter == "\t"
    assert _import(admin_client, lists, "tabulations.tsv").imported == 2
    assert Contact.objects.get(email="ines@exemple.fr").first_name == "Inès"


@pytest.mark.parametrize(
    ("name", "active", "unsubscribed", "suppressed"),
    [
        ("mailchimp-unsubscribed.csv", [], ["parti@exemple.fr"], []),
        ("mailchimp-cleaned.csv", [], [], ["rebond@exemple.fr"]),
        (
            "kit.csv",
            ["amina@exemple.fr"],
            ["bruno@exemple.fr"],
            ["carla@exemple.fr", "denis@exemple.fr"],
        ),
        ("substack.csv", ["elise@exemple.fr"], ["fabien@exemple.fr"], []),
        ("ghost.csv", ["gaelle@exemple.fr"], ["hugo@exemple.fr"], []),
    ],
)
def test_platform_exports_never_make_the_unsubscribed_or_cleaned_active(
    admin_client, lists, name, active, unsubscribed, suppressed
):
    report = _import(admin_client, lists, name)
    assert not report.errors
    assert set(
        Subscription.objects.filter(status="active").values_list("contact__email", flat=True)
    ) == set(active)
    assert set(
        Subscription.objects.filter(status="unsubscribed").values_list("contact__email", flat=True)
    ) == set(unsubscribed)
    for email in suppressed:
        assert Suppression.objects.filter(email_hash=email_hash(email)).exists()
        assert not Subscription.objects.filter(contact__email=email).exists()
    assert report.suppressed == len(suppressed) and report.unsubscribed == len(unsubscribed)


def test_ghost_full_names_give_a_first_name(admin_client, lists):
    _import(admin_client, lists, "ghost.csv")
    assert Contact.objects.get(email="gaelle@exemple.fr").first_name == "Gaëlle"


def _welcome_sequence(mailing_list, steps=3):
    sequence = Sequence.objects.create(
        mailing_list=mailing_list, slug="bienvenue-import", name="Bienvenue"
    )
    for position in range(1, steps + 1):
        Step.objects.create(sequence=sequence, position=position, subject=f"E{position}", body="x")
    return sequence


def test_welcome_sequences_are_off_by_default_and_the_page_says_what_on_would_send(
    admin_client, lists
):
    _welcome_sequence(lists["newsletter"])
    steps = Step.objects.filter(
        sequence__mailing_list=lists["newsletter"], sequence__is_active=True
    ).count()
    page = admin_client.get("/admin/signups/contact/import/").content.decode()
    assert 'name="enrol"' in page and "checked" not in page.split('name="enrol"')[1][:40]

    response, _data = _read(admin_client, lists, "excel-fr-utf8-bom.csv")
    html = response.content.decode()
    assert "Aucun e-mail ne partira." in html
    assert f"enverrait {3 * steps} e-mails" in html
    report = _import(admin_client, lists, "excel-fr-utf8-bom.csv")
    assert report.imported == 3 and report.enrolled == 0
    assert not Enrolment.objects.exists()


def test_enrolling_says_how_many_emails_then_enrols(admin_client, lists):
    _welcome_sequence(lists["newsletter"])
    steps = Step.objects.filter(
        sequence__mailing_list=lists["newsletter"], sequence__is_active=True
    ).count()
    response, _data = _read(admin_client, lists, "excel-fr-utf8-bom.csv", enrol="on")
    html = response.content.decode()
    assert f"Cet import enverra {3 * steps} e-mails de bienvenue" in html
    report = _import(admin_client, lists, "excel-fr-utf8-bom.csv", enrol="on")
    assert report.imported == 3 and report.enrolled == 3
    assert Enrolment.objects.filter(contact__email="koffi@exemple.cm").exists()


def test_a_file_without_an_email_column_says_which_columns_it_has(admin_client, lists):
    response = admin_client.post(
        "/admin/signups/contact/import/",
        {
            "mailing_list": lists["newsletter"].pk,
            "consent_source": "Salon",
            "consent_date": "2026-03-14",
            "file": SimpleUploadedFile(
                "c.csv", "Nom;Téléphone\r\nDupont;0102\r\n".encode("cp1252")
            ),
        },
    )
    html = response.content.decode()
    assert "Aucune colonne « email » parmi : Nom, Téléphone." in html
    assert response.context["preview"] is None
