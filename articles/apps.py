from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = _("Articles")
    tick_handlers = ("articles.services.pages_refresh_scheduled",)

    def ready(self):
        from . import signals  # noqa: F401  (cache invalidation)

    def bootstrap(self, stdout) -> None:
        """Import the seed articles (idempotent; silent when nothing changed)."""
        from django.conf import settings

        from .management.commands.import_articles import run_import

        run_import([settings.BASE_DIR / "seeds" / "articles"], stdout=stdout, quiet_unchanged=True)
