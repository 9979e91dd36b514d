"""Deliveries lose the `sending` status, which nothing writes any more.

A row that still held it was being handed to the mail server by a worker of an
earlier version: it may have reached the server, so it becomes « inconnu » (never
resent), as the tick does for a chunk whose hand-over was left open. The rows are
found through the in-flight index before that index is narrowed to claimed rows.
"""

from django.db import migrations, models


def sending_rows_become_unknown(apps, schema_editor):
    Delivery = apps.get_model("mailings", "Delivery")
    Delivery.objects.filter(status="sending").update(
        status="unknown",
        lease_until=None,
        error=(
            "Le worker s’est arrêté pendant l’envoi : ce message est peut-être parti. "
            "Il n’est pas renvoyé automatiquement."
        ),
    )


class Migration(migrations.Migration):

    dependencies = [
        ('mailings', '0010_delivery_unknown_index'),
    ]

    operations = [
        migrations.RunPython(sending_rows_become_unknown, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name='delivery',
            name='delivery_in_flight',
        ),
        migrations.AlterField(
            model_name='delivery',
            name='status',
            field=models.CharField(choices=[('pending', 'à envoyer'), ('claimed', 'réservé par un worker'), ('sent', 'envoyé'), ('failed', 'échec'), ('skipped', 'écarté (désinscrit ou bloqué)'), ('unknown', 'inconnu'), ('cancelled', 'annulé'), ('paused', 'en pause')], db_default='pending', default='pending', max_length=16, verbose_name='statut'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('status', 'claimed')), fields=['id'], name='delivery_in_flight'),
        ),
    ]
