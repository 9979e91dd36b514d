"""`manage.py import_articles PATH... [--dry-run] [--format …]`: import documents and
exports (Markdown folders, WordPress WXR, Ghost JSON, Medium and Substack zips)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from articles.importers import FORMATS
from articles.importers.sources import sources_count
from articles.importing import ImportReport, ImportResult, import_run

PROGRESS_FROM = 20


def labels() -> dict[str, str]:
    return {
        "created": _("créé"),
        "updated": _("mis à jour"),
        "unchanged": _("inchangé"),
        "failed": _("échec"),
    }


def result_lines(result: ImportResult) -> list[tuple[str, str | None]]:
    """The report's lines for one document: (text, kind) with kind failed/warning/None."""
    label = labels()[result.outcome]
    shown = _shown(result.path)
    if result.outcome == "failed":
        return [
            (
                _("%(label)s : %(path)s — %(message)s")
                % {"label": label, "path": shown, "message": result.message},
                "failed",
            )
        ]
    lines = [
        (
            _("%(label)s : %(path)s → « %(title)s »")
            % {"label": label, "path": shown, "title": result.title},
            None,
        )
    ]
    lines += [
        ("    " + _("avertissement : %(warning)s") % {"warning": w}, "warning")
        for w in result.warnings
    ]
    return lines


def summary_lines(report: ImportReport) -> list[str]:
    counts = report.counts()
    total = len(report.results)
    lines = list(report.notes)
    line = (
        ngettext("%(total)s fichier", "%(total)s fichiers", total) % {"total": total}
        + " : "
        + _(
            "%(created)s créé(s), %(updated)s mis à jour, %(unchanged)s inchangé(s), %(failed)s en échec."
        )
        % counts
    )
    if report.dry_run:
        line = _("Essai à blanc, rien n’a été enregistré. ") + line
    return [*lines, line]


class _Progress:
    """A progress bar once there are PROGRESS_FROM documents (counted ahead, or met along
    the way when they cannot be counted); lines are written above it."""

    def __init__(self, total: int | None, *, quiet: bool, stdout):
        from tqdm import tqdm

        self.tqdm, self.total, self.quiet, self.stdout = tqdm, total, quiet, stdout
        self.seen = 0
        self.bar = None
        if total and total >= PROGRESS_FROM and not quiet:
            self.bar = tqdm(total=total, unit=_("fichier"), leave=False, mininterval=0.5)

    def advance(self) -> None:
        self.seen += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.seen == PROGRESS_FROM and not self.quiet and self.total is None:
            self.bar = self.tqdm(unit=_("fichier"), leave=False, mininterval=0.5, initial=self.seen)

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.stdout)
        else:
            self.stdout.write(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _styled(line: str, kind, style) -> str:
    if style and kind == "failed":
        return style.ERROR(line)
    if style and kind == "warning":
        return style.WARNING(line)
    return line


def run_import(
    paths, *, stdout, style=None, quiet_unchanged=False, fmt="auto", dry_run=False
) -> int:
    """Import everything, one line per document and a summary; returns the number of failures."""
    progress = _Progress(sources_count(paths), quiet=quiet_unchanged, stdout=stdout)

    def on_result(result: ImportResult) -> None:
        progress.advance()
        if result.outcome == "unchanged" and quiet_unchanged:
            return
        for line, kind in result_lines(result):
            progress.write(_styled(line, kind, style))

    report = import_run(paths=paths, fmt=fmt, dry_run=dry_run, on_result=on_result)
    progress.close()
    counts = report.counts()
    if quiet_unchanged and not (counts["created"] or counts["updated"] or counts["failed"]):
        return 0
    for line in summary_lines(report):
        stdout.write(line)
    return counts["failed"]


def _shown(path) -> str:
    """Paths under the current directory are shown relative to it, as typed."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


class Command(BaseCommand):
    help = _(
        "Importe des articles : fichiers Markdown (Jekyll, Hugo, Eleventy), pages copiées, "
        "export WordPress (WXR), Ghost (JSON), Medium ou Substack (zip) : fichiers ou dossiers."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help=_("Fichiers, dossiers ou archives zip."))
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("Tout lire et rendre compte, sans rien enregistrer."),
        )
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default="auto",
            help=_("Format des fichiers (par défaut : reconnu d’après leur contenu)."),
        )

    def handle(self, *args, paths, dry_run, format, **options):  # noqa: A002 (the option's name)
        failed = run_import(
            paths, stdout=self.stdout, style=self.style, fmt=format, dry_run=dry_run
        )
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
