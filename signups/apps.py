from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SignupsConfig(AppConfig):
    name = "signups"
    verbose_name = _("Inscriptions")
    tick_handlers = ("signups.services.signup_replies_send",)
    daily_handlers = (
        "signups.services.subscriptions_purge_unconfirmed",
        "signups.services.contacts_review_inactive",
    )

    def bootstrap(self, stdout) -> None:
        """Create the starting lists (idempotent)."""
        from .bootstrap import create_lists

        create_lists(stdout=stdout)
