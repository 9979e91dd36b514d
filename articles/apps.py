from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = _("Articles")
    tick_handlers = ("articles.services.pages_refresh_scheduled",)
    # The editor's digest of comments awaiting review, when they asked for one.
    daily_handlers = ("articles.commenting.comments_digest_send",)

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import rights, signals  # noqa: F401  (data rights; cache invalidation)

        connection_created.connect(_sqlite_fold, dispatch_uid="articles.sqlite_fold")

    def bootstrap(self, stdout) -> None:
        """Import the seed articles (idempotent; silent when nothing changed)."""
        from django.conf import settings

        from .management.commands.import_articles import run_import

        run_import([settings.BASE_DIR / "seeds" / "articles"], stdout=stdout, quiet_unchanged=True)


def _sqlite_fold(sender, connection, **kwargs):
    """SQLite's search folds accents with Python's help (PostgreSQL has `unaccent`)."""
    if connection.vendor == "sqlite":
        from .models import SQLITE_FOLD, fold_accents

        connection.connection.create_function(SQLITE_FOLD, 1, fold_accents, deterministic=True)
