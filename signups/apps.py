from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SignupsConfig(AppConfig):
    name = "signups"
    verbose_name = _("Inscriptions")
    daily_handlers = (
        "signups.services.subscriptions_purge_unconfirmed",
        "signups.services.contacts_review_inactive",
    )

    def bootstrap(self, stdout) -> None:
        """Create the starting lists (idempotent)."""
        from .bootstrap import create_lists

        create_lists(stdout=stdout)
