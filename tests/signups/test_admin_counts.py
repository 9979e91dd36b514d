"""Where an exact count costs too much: the unfiltered changelist of a large table shows
PostgreSQL's estimate and says so; filtered, small or on SQLite, the count is exact."""

import pytest
from django.db import connection

from config import admin as shared_admin
from mailings.models import Delivery
from signups.models import Contact

pytestmark = pytest.mark.django_db


def contacts(count: int) -> None:
    Contact.objects.bulk_create(
        Contact(email=f"lecteur{i}@example.org", first_name="Awa" if i % 2 else "")
        for i in range(count)
    )


def analyze(model) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def test_a_large_table_shows_the_planner_estimate(postgres, admin_client, monkeypatch):
    monkeypatch.setattr(shared_admin, "ESTIMATE_ABOVE", 200)  # 250 rows stand for a million
    contacts(250)
    analyze(Contact)
    estimate = shared_admin.estimated_count(Contact)
    assert estimate is not None and 200 <= estimate <= 300

    page = admin_client.get("/admin/signups/contact/")
    assert page.status_code == 200
    content = page.content.decode()
    assert f"environ {estimate} contacts (estimation)" in content
    assert 'id="result-count-estimated"' in content
    # Selecting « all » for an action says it is the estimate too, not a count.
    assert f"environ {estimate} sélectionnés (estimation)" in content

    # Filtered or searched: exact.
    page = admin_client.get("/admin/signups/contact/", {"q": "lecteur1"})
    content = page.content.decode()
    assert "estimation" not in content
    assert f"{Contact.objects.filter(email__icontains='lecteur1').count()} contacts" in content
    # Another page of the same unfiltered list: the estimate still, no 500.
    page = admin_client.get("/admin/signups/contact/", {"p": "2"})
    assert page.status_code == 200 and "(estimation)" in page.content.decode()
    # The other large tables' lists answer too.
    for url in ("/admin/mailings/delivery/", "/admin/mailings/event/", "/admin/signups/answer/"):
        assert admin_client.get(url).status_code == 200


def test_below_the_threshold_the_count_is_exact(postgres, admin_client):
    contacts(30)
    analyze(Contact)
    assert shared_admin.estimated_count(Contact) is None  # 30 < 100,000
    assert shared_admin.estimated_count(Delivery) is None
    content = admin_client.get("/admin/signups/contact/").content.decode()
    assert "30 contacts" in content and "estimation" not in content


def test_sqlite_counts_exactly(admin_client, monkeypatch):
    monkeypatch.setattr(shared_admin, "ESTIMATE_ABOVE", 0)
    contacts(12)
    if connection.vendor == "postgresql":
        monkeypatch.setattr(connection, "vendor", "sqlite")
    assert shared_admin.estimated_count(Contact) is None
    content = admin_client.get("/admin/signups/contact/").content.decode()
    assert "12 contacts" in content and "estimation" not in content
