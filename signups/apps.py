from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SignupsConfig(AppConfig):
    name = "signups"
    verbose_name = _("Inscriptions")
    tick_handlers = (
        "signups.replies.signup_replies_send",
        "signups.interviews.interview_acknowledgements_send",
    )
    daily_handlers = (
        "signups.rights.subscriptions_purge_unconfirmed",
        "signups.rights.contacts_review_inactive",
    )

    def bootstrap(self, stdout) -> None:
        """Create the starting lists (idempotent)."""
        from .bootstrap import create_lists

        create_lists(stdout=stdout)
