"""What a worker loads for sending before its pool forks (`config/celery_app.py` runs
each app's `worker_preload_handlers` once, in the worker's main process).

Loaded there, the sending path's modules, the backend's, the compiled message templates,
every language's catalog and the Markdown and CSS machinery are shared by the pool
children (copy-on-write), instead of each child building its own copy at its first
batch. Nothing here reads the database, opens a connection or keeps anything about a
reader or a message."""

from django.conf import settings


def sending_path_load() -> None:
    """Import what a batch imports and render and serialise one made-up message per
    language (`rendering.render`, not the per-process cache of real messages)."""
    from . import outbox, rendering  # noqa: F401 — imported for the pool children
    from .transports import transport_for

    transport_for(esp_batch=settings.MAIL_ESP_BATCH).close()  # never opened
    values = rendering.recipient_values_maker()(
        delivery_id=1,
        email="lecteur@example.org",
        first_name="Awa",
        subscription_id=1,
        contact_id=1,
        list_slug="liste",
        list_name="Liste",
    )
    for language, _name in settings.LANGUAGES:
        rendered = rendering.render(
            key="mailing-0",
            subject="Préchargement",
            preheader="",
            body="Bonjour {prénom},\n\n*Un* [lien](https://example.org/).",
            language=language,
        )
        rendered.personal_bytes(values)
        rendered.personal_message(values)
