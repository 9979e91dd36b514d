from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _


def check_replies_inbox(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """The replies inbox needs both MAIL_INBOUND_WEBHOOK and MAIL_REPLY_TO."""
    if settings.MAIL_REPLY_TO and not settings.MAIL_INBOUND_WEBHOOK:
        return [
            checks.Warning(
                _(
                    "MAIL_REPLY_TO est indiqué mais MAIL_INBOUND_WEBHOOK est désactivé : "
                    "aucun Reply-To n’est ajouté et les réponses des lecteurs vont à "
                    "DEFAULT_FROM_EMAIL."
                ),
                hint=_(
                    "Activez MAIL_INBOUND_WEBHOOK=1 et routez cette boîte vers le webhook "
                    "entrant de l’ESP."
                ),
                id="mailings.W001",
            )
        ]
    if settings.MAIL_INBOUND_WEBHOOK and not settings.MAIL_REPLY_TO:
        # A sound setting (the inbound webhook also serves unsubscribing by email), but
        # not the one an editor expecting the replies inbox wants.
        return [
            checks.Info(
                _(
                    "MAIL_INBOUND_WEBHOOK est activé sans MAIL_REPLY_TO : les désinscriptions "
                    "par e-mail sont reçues, mais les réponses des lecteurs n’arrivent pas "
                    "dans « Réponses des lecteurs »."
                ),
                hint=_(
                    "Pour les recevoir, indiquez la boîte routée vers le webhook entrant, "
                    "par exemple MAIL_REPLY_TO=reponses@exemple.fr."
                ),
                id="mailings.I001",
            )
        ]
    return []


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
        checks.register(check_replies_inbox, checks.Tags.compatibility)

    def bootstrap(self, stdout) -> None:
        """Create the starting sequences (idempotent)."""
        from .bootstrap import create_sequences

        create_sequences(stdout=stdout)
