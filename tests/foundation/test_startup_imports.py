"""What every process (web and worker alike) loads at start: not the article importers,
which only an import uses. Loaded at start they would cost each process, each pool
child of a worker included, a few MB of their parsing libraries."""

import subprocess
import sys

from tests.helpers import ROOT


def test_starting_the_project_does_not_load_the_article_importers(tmp_path):
    script = (
        "import sys, django; django.setup(); "
        "from django.urls import get_resolver; get_resolver().url_patterns; "
        "from django.core.checks import run_checks; run_checks(); "
        "print(sorted(m for m in sys.modules if m.startswith('articles.importers.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "POULS_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
