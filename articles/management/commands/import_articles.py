"""`manage.py import_articles PATH...`: import Markdown/front-matter documents (files or folders)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from articles.cache import invalidation_deferred
from articles.services import (
    article_import_file,
    collect_files,
    import_session,
    imported_sources,
    source_key,
)

PROGRESS_FROM = 20


def run_import(paths, *, stdout, style=None, quiet_unchanged=False) -> int:
    """Import every file, one line per file and a summary; returns the number of failures."""
    from tqdm import tqdm

    files, missing = collect_files(paths)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": len(missing)}
    labels = {
        "created": _("créé"),
        "updated": _("mis à jour"),
        "unchanged": _("inchangé"),
        "failed": _("échec"),
    }

    def say(line, kind=None):
        if style and kind == "failed":
            line = style.ERROR(line)
        elif style and kind == "warning":
            line = style.WARNING(line)
        progress.write(line, file=stdout) if progress else stdout.write(line)

    progress = None
    if len(files) >= PROGRESS_FROM:
        progress = tqdm(total=len(files), unit=_("fichier"), leave=False, mininterval=0.5)
    for path in missing:
        say(
            _("%(label)s : %(path)s — chemin introuvable")
            % {"label": labels["failed"], "path": path},
            "failed",
        )
    with invalidation_deferred(), import_session():
        known = imported_sources(files)
        for path in files:
            _import_one(
                path, known.get(source_key(path)), counts, labels, say, progress, quiet_unchanged
            )
    if progress:
        progress.close()
    if quiet_unchanged and not (counts["created"] or counts["updated"] or counts["failed"]):
        return 0
    total = len(files) + len(missing)
    stdout.write(
        ngettext("%(total)s fichier", "%(total)s fichiers", total) % {"total": total}
        + " : "
        + _(
            "%(created)s créé(s), %(updated)s mis à jour, %(unchanged)s inchangé(s), %(failed)s en échec."
        )
        % counts
    )
    return counts["failed"]


def _shown(path) -> str:
    """Paths under the current directory are shown relative to it, as typed."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _import_one(path, known, counts, labels, say, progress, quiet_unchanged):
    result = article_import_file(path=path, known=known)
    counts[result.outcome] += 1
    if progress:
        progress.update(1)
    if result.outcome == "unchanged" and quiet_unchanged:
        return
    if result.outcome == "failed":
        say(
            _("%(label)s : %(path)s — %(message)s")
            % {"label": labels["failed"], "path": _shown(path), "message": result.message},
            "failed",
        )
        return
    say(
        _("%(label)s : %(path)s → « %(title)s »")
        % {"label": labels[result.outcome], "path": _shown(path), "title": result.article.title}
    )
    for warning in result.warnings:
        say("    " + _("avertissement : %(warning)s") % {"warning": warning}, "warning")


class Command(BaseCommand):
    help = _(
        "Importe des articles (fichiers Markdown avec en-tête YAML, ou pages copiées) : fichiers ou dossiers."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help=_("Fichiers ou dossiers à importer."))

    def handle(self, *args, paths, **options):
        failed = run_import(paths, stdout=self.stdout, style=self.style)
        if failed:
            raise CommandError(
                ngettext(
                    "%(count)s fichier n’a pas pu être importé.",
                    "%(count)s fichiers n’ont pas pu être importés.",
                    failed,
                )
                % {"count": failed},
                returncode=1,
            )
