"""Upgrading an outbox that still holds rows of the retired `sending` status."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("mailings", "0010_delivery_unknown_index")]


def _latest(executor):
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] == "mailings"]


@pytest.mark.django_db(transaction=True)
def test_rows_left_sending_become_unknown_and_the_others_keep_their_status(postgres):
    executor = MigrationExecutor(connection)
    latest = _latest(executor)
    executor.migrate(BEFORE)
    try:
        apps = executor.loader.project_state(BEFORE).apps
        delivery = apps.get_model("mailings", "Delivery")
        # The outbox's references are not enforced by the database: no contact needed.
        for contact_id, status in enumerate(("sending", "claimed", "pending", "sent"), 1):
            delivery.objects.create(
                mailing_id=1, contact_id=contact_id, subscription_id=contact_id, status=status
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)

    from mailings.models import Delivery

    statuses = dict(Delivery.objects.values_list("contact_id", "status"))
    assert statuses == {1: "unknown", 2: "claimed", 3: "pending", 4: "sent"}
    assert "peut-être parti" in Delivery.objects.get(contact_id=1).error
