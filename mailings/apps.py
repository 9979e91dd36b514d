from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailingsConfig(AppConfig):
    name = "mailings"
    verbose_name = _("Envois")
    tick_handlers = (
        "mailings.services.mailings_dispatch_due",
        "mailings.services.enrolments_advance",
        "mailings.services.outbox_recover",
        "mailings.abtest.ab_decide_due",
        "mailings.replies.reply_answers_send",
    )
    # Loaded by the worker before its pool forks, shared by the children (config/celery_app.py).
    worker_preload_handlers = ("mailings.preload.sending_path_load",)

    def ready(self) -> None:
        from anymail.signals import inbound

        from . import receivers

        inbound.connect(receivers.on_inbound, dispatch_uid="mailings.inbound")

    def bootstrap(self, stdout) -> None:
        """Create the starting sequences (idempotent)."""
        from .bootstrap import create_sequences

        create_sequences(stdout=stdout)
