import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

SEEDS = Path(settings.BASE_DIR) / "seeds" / "articles"


def import_paths(*paths) -> str:
    out = io.StringIO()
    call_command("import_articles", *[str(p) for p in paths], stdout=out)
    return out.getvalue()


@pytest.fixture
def seeds(db):
    """The five seed articles, imported through the command, and the starting lists
    (pages carry their compact signup forms)."""
    from signups.bootstrap import create_lists

    create_lists(stdout=io.StringIO())
    return import_paths(SEEDS)


@pytest.fixture(autouse=True)
def _forget_local_pages():
    from articles.cache import forget_local

    forget_local()
    yield
    forget_local()
