"""The admin benchmark's data, written by PostgreSQL itself (generate_series): contacts on
three lists with profiles, sources and answers, and one sent mailing with a delivery per
contact and its ESP events (delivered, opened, clicked, bounced, complained,
unsubscribed), spread over two days."""

import datetime as dt

from django.db import connection
from django.utils import timezone

from mailings import tallies
from mailings.models import Mailing
from signups.models import MailingList

PROFILES = "ARRAY['entrepreneur','executive','hr','it','freelancer','other','']"
SOURCES = "ARRAY['newsletter','atelier','entretiens','import:salon 2025','import:mailchimp']"
LINKS = (
    "ARRAY['https://pouls.example/articles/lire-dans-les-pensees/',"
    "'https://pouls.example/atelier/','https://pouls.example/entretiens/']"
)


def fill(contacts: int) -> Mailing:
    lists = [
        MailingList.objects.get_or_create(
            slug=slug, defaults={"name": name, "consent_text": "J’accepte."}
        )[0]
        for slug, name in (
            ("newsletter", "Newsletter"),
            ("atelier", "Atelier"),
            ("entretiens", "Entretiens"),
        )
    ]
    newsletter, workshop, interviews = (m.pk for m in lists)
    sent_at = timezone.now() - dt.timedelta(days=2)
    mailing = Mailing.objects.create(
        subject="Comment lire dans les pensées de ses clients",
        body="Bonjour {prénom},\n\n[Lire](https://pouls.example/articles/lire/)",
        status=Mailing.Status.SENT,
        send_date=sent_at.date(),
        send_time=dt.time(9),
        scheduled_at=sent_at,
        dispatched_at=sent_at,
        finished_at=sent_at + dt.timedelta(minutes=10),
    )
    mailing.lists.add(*lists)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO signups_contact (email, first_name, profile, time_zone, language, source,"  # noqa: S608
            " created_at, last_activity_at, suppression_reason)"
            f" SELECT 'lecteur' || g || '@example.org', 'Prénom' || g, ({PROFILES})[1 + g %% 7],"
            " 'Europe/Paris', 'fr',"
            f" ({SOURCES})[1 + g %% 5], now() - (g %% 730) * interval '1 day', NULL, ''"
            " FROM generate_series(1, %s) AS g",
            [contacts],
        )
        # Everyone reads the newsletter (one in twenty left it); half took the workshop,
        # one in ten applied to the interviews.
        cursor.execute(
            "INSERT INTO signups_subscription (contact_id, mailing_list_id, status, created_at,"
            " confirmed_at, unsubscribed_at)"
            " SELECT id, %s, CASE WHEN id %% 20 = 0 THEN 'unsubscribed' ELSE 'active' END,"
            " created_at, created_at, CASE WHEN id %% 20 = 0 THEN now() END FROM signups_contact"
            " UNION ALL SELECT id, %s, 'active', created_at, created_at, NULL"
            " FROM signups_contact WHERE id %% 2 = 0"
            " UNION ALL SELECT id, %s, CASE WHEN id %% 3 = 0 THEN 'pending' ELSE 'active' END,"
            " created_at, created_at, NULL FROM signups_contact WHERE id %% 10 = 0",
            [newsletter, workshop, interviews],
        )
        cursor.execute(
            "INSERT INTO signups_answer (contact_id, mailing_list_id, text, profile, created_at)"
            " SELECT id, %s, 'Trouver mes premiers clients sans y passer mes soirées', profile,"
            " created_at FROM signups_contact WHERE id %% 2 = 0",
            [workshop],
        )
        cursor.execute(
            "INSERT INTO mailings_delivery (mailing_id, contact_id, subscription_id, status,"
            " created_at, sent_at, esp_message_id, claimed_by, attempts, error)"
            " SELECT %s, s.contact_id, s.id, 'sent', %s, %s + (s.contact_id %% 600) * interval"
            " '1 second', 'bench-' || s.contact_id, '', 1, ''"
            " FROM signups_subscription s WHERE s.mailing_list_id = %s",
            [mailing.pk, sent_at, sent_at, newsletter],
        )
        # Events: delivered for 95 %, bounced 2.5 %, opened 30 %, clicked 10 % on three
        # links, a few complaints and unsubscriptions; over the two days after sending.
        cursor.execute(
            "INSERT INTO mailings_event (event_id, kind, delivery_id, mailing_id, occurred_at,"  # noqa: S608
            " detail)"
            " SELECT 'bench:' || e.kind || ':' || d.id, e.kind, d.id, d.mailing_id,"
            " d.sent_at + (d.id %% e.spread) * interval '1 minute',"
            f" CASE WHEN e.kind = 'clicked' THEN ({LINKS})[1 + d.id %% 3] ELSE '' END"
            " FROM mailings_delivery d JOIN (VALUES ('delivered', 40, 0, 20),"
            " ('bounced', 40, 19, 40), ('opened', 2880, 1, 10), ('opened', 2880, 2, 10),"
            " ('opened', 2880, 3, 10), ('clicked', 2880, 4, 10), ('complained', 2880, 5, 1000),"
            " ('unsubscribed', 2880, 6, 250))"
            " AS e(kind, spread, remainder, modulo)"
            " ON (d.id %% e.modulo = e.remainder OR (e.kind = 'delivered' AND d.id %% 20 <> 19))"
            " WHERE d.mailing_id = %s",
            [mailing.pk],
        )
    tallies.tallies_rebuild(mailing=mailing)  # what recording each event writes
    # What dispatching and finishing store.
    mailing.recipient_count = mailing.deliveries.count()
    mailing.final_progress = mailing.progress()
    mailing.save(update_fields=["recipient_count", "final_progress"])
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE mailings_eventtally; ANALYZE signups_contact; ANALYZE signups_subscription; ANALYZE signups_answer;"
            " ANALYZE mailings_delivery; ANALYZE mailings_event"
        )
    return mailing
