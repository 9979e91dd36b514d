"""The time zones readers choose from: a short French list by region, the full list
behind « Autre » (valid places only), the same rule for the signup forms."""

import zoneinfo
from pathlib import Path

import pytest
from django.test import Client

from signups import services, time_zones, tokens
from signups.forms import PreferencesForm, SignupForm, clean_time_zone
from signups.models import Contact, Subscription

from .conftest import form_data, signup

pytestmark = pytest.mark.django_db

JUNK = [
    "Factory",
    "localtime",
    "posixrules",
    "W-SU",
    "Etc/GMT+3",
    "US/Eastern",
    "GB",
    "EST5EDT",
    "Asia/Calcutta",
    "Europe/Kiev",
    "America/Montreal",
    "Canada/Atlantic",
    "posix/Europe/Paris",
]


def _zone_tab() -> set[str] | None:
    for root in zoneinfo.TZPATH:
        path = Path(root) / "zone.tab"
        if path.exists():
            lines = path.read_text().splitlines()
            return {line.split("\t")[2] for line in lines if line and not line.startswith("#")}
    return None


def _values(choices) -> list[str]:
    values = []
    for value, label in choices:
        if isinstance(label, (list, tuple)):
            values.extend(v for v, _label in label)
        else:
            values.append(value)
    return values


def test_the_full_list_is_the_places_of_tzdata_and_utc():
    zones = time_zones.valid_zones()
    assert len(zones) < 450 and "Europe/Paris" in zones and "UTC" in zones
    assert not zones & set(JUNK)
    assert not any(z.startswith(("Etc/", "US/", "posix", "right", "SystemV")) for z in zones)
    tab = _zone_tab()
    if tab is not None:  # the canonical list: nothing missing, nothing more
        assert zones - {"UTC"} == tab & zoneinfo.available_timezones()
    for old, today in time_zones._OLD_NAMES.items():
        assert today in zones, (old, today)


def test_short_list_groups_french_places_then_autre():
    choices = time_zones.short_choices()
    groups = [str(label) for label, _places in choices[:-1]]
    assert groups[:5] == [
        "France et Europe",
        "Québec et Canada",
        "Antilles-Guyane",
        "Afrique centrale et de l’Ouest",
        "Maghreb",
    ]
    assert "Océan Indien" in groups
    labels = {value: str(label) for group in choices[:-1] for value, label in group[1]}
    assert labels["Europe/Paris"] == "Paris"
    assert labels["America/Toronto"] == "Montréal"
    assert labels["America/Martinique"] == "Martinique"
    assert labels["America/Guadeloupe"] == "Guadeloupe"
    assert labels["America/Cayenne"] == "Cayenne"
    assert labels["Africa/Kinshasa"] == "Kinshasa"
    assert labels["Africa/Abidjan"] == "Abidjan" and labels["Africa/Dakar"] == "Dakar"
    assert labels["Africa/Libreville"] == "Libreville"
    assert labels["Indian/Reunion"] == "La Réunion" and labels["Indian/Mayotte"] == "Mayotte"
    assert labels["Africa/Douala"].startswith("Douala")
    assert choices[-1][0] == time_zones.OTHER
    assert set(labels) <= time_zones.valid_zones()


def test_full_choices_hold_every_valid_zone_once_grouped_by_continent():
    choices = time_zones.full_choices()
    values = _values(choices)
    assert values[0] == ""
    assert sorted(values[1:]) == sorted(time_zones.valid_zones())
    assert len(values) == len(set(values))
    groups = [str(value) for value, label in choices if isinstance(label, list)]
    assert "Afrique" in groups and "Europe" in groups and "Océan Indien" in groups
    africa = dict(next(label for value, label in choices if str(value) == "Afrique"))
    assert str(africa["Africa/Kinshasa"]) == "Kinshasa"


@pytest.mark.parametrize(
    "sent, stored",
    [
        ("Europe/Paris", "Europe/Paris"),
        ("Asia/Calcutta", "Asia/Kolkata"),  # what Chromium reports in India
        ("America/Montreal", "America/Toronto"),
        ("US/Eastern", "America/New_York"),
        ("W-SU", "Europe/Moscow"),
        ("Factory", "Europe/Paris"),
        ("localtime", "Europe/Paris"),
        ("Etc/GMT+3", "Europe/Paris"),
        ("../../etc/passwd", "Europe/Paris"),
    ],
)
def test_signup_forms_keep_only_offered_zones(sent, stored):
    assert clean_time_zone(sent) == stored


def test_a_signup_stores_the_canonical_zone(client, lists, django_capture_on_commit_callbacks):
    signup(client, lists["newsletter"], django_capture_on_commit_callbacks, time_zone="Factory")
    assert Contact.objects.get().time_zone == "Europe/Paris"
    form = SignupForm(
        form_data(lists["atelier"], time_zone="Asia/Saigon"), mailing_list=lists["atelier"]
    )
    assert form.is_valid() and form.cleaned_data["time_zone"] == "Asia/Ho_Chi_Minh"


def _contact(zone):
    return Contact.objects.create(email="lea@example.org", time_zone=zone)


@pytest.mark.parametrize(
    "stored, short, other",
    [
        ("Europe/Paris", "Europe/Paris", ""),
        ("Indian/Reunion", "Indian/Reunion", ""),
        ("Asia/Tokyo", "autre", "Asia/Tokyo"),
        ("Europe/Kiev", "autre", "Europe/Kyiv"),
        ("Factory", "Europe/Paris", ""),
    ],
)
def test_the_form_shows_the_readers_zone_in_the_right_list(db, stored, short, other):
    form = PreferencesForm.for_contact(_contact(stored))
    assert (form["time_zone"].value(), form["time_zone_other"].value()) == (short, other)
    assert form.time_zone_other_open == (short == "autre")


@pytest.mark.parametrize(
    "short, other, zone, error",
    [
        ("America/Cayenne", "", "America/Cayenne", None),
        ("autre", "Asia/Tokyo", "Asia/Tokyo", None),
        ("autre", "", None, "Choisissez votre fuseau horaire dans la liste complète."),
        ("Europe/Paris", "Europe/Paris", "Europe/Paris", None),
        ("Europe/Paris", "Asia/Tokyo", None, "Vous avez choisi deux fuseaux : Paris et Tokyo."),
        ("Factory", "", None, "Choisissez un fuseau horaire de la liste."),
        ("autre", "localtime", None, "Choisissez un fuseau horaire de la liste."),
    ],
)
def test_the_full_list_counts_when_autre_is_chosen(db, short, other, zone, error):
    data = {"time_zone": short, "time_zone_other": other, "language": "fr"}
    form = PreferencesForm(data)
    if error is None:
        assert form.is_valid(), form.errors
        assert form.cleaned_data["time_zone"] == zone
    else:
        assert not form.is_valid()
        assert any(error in e for errors in form.errors.values() for e in errors)


def test_preference_centre_page_offers_the_short_list_and_the_full_one(lists):
    services.signup_submit(mailing_list=lists["newsletter"], email="lea@example.org", form="t")
    contact = Contact.objects.get()
    Contact.objects.filter(pk=contact.pk).update(time_zone="Africa/Kinshasa")
    url = "/" + tokens.preferences_url(contact).split("/", 3)[3]
    html = Client().get(url).content.decode()
    assert '<optgroup label="Afrique centrale et de l’Ouest">' in html
    assert '<option value="Africa/Kinshasa" selected>Kinshasa</option>' in html
    assert '<option value="autre">Autre (liste complète)</option>' in html
    assert 'name="time_zone_other"' in html and "<details" in html
    for junk in ("Factory", "localtime", "W-SU", "Etc/GMT", "US/Eastern", "posixrules"):
        assert f'value="{junk}' not in html
    assert html.count("<option") < 500
    assert "js/time-zone-choice.js" in html and "<script>" not in html


def test_saving_with_the_full_list_and_no_javascript(lists):
    services.signup_submit(mailing_list=lists["newsletter"], email="lea@example.org", form="t")
    services.subscription_confirm(subscription=Subscription.objects.get())
    contact = Contact.objects.get()
    url = "/" + tokens.preferences_url(contact).split("/", 3)[3]
    client = Client()
    data = {
        "action": "save",
        "time_zone": "autre",
        "time_zone_other": "Pacific/Auckland",
        "language": "fr",
        "lists": [lists["newsletter"].pk],
    }
    response = client.post(url, data)
    assert "Vos préférences sont enregistrées." in response.content.decode()
    contact.refresh_from_db()
    assert contact.time_zone == "Pacific/Auckland"
