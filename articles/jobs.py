"""Imports started from the admin: the upload is kept on disk, a worker runs the
import and writes its progress and report here, the page follows it."""

import shutil
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def upload_dir() -> Path:
    return Path(settings.IMPORT_UPLOAD_DIR)


class ImportJob(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("en attente")
        RUNNING = "running", _("en cours")
        DONE = "done", _("terminé")
        FAILED = "failed", _("interrompu")

    file_name = models.CharField(_("fichier"), max_length=255)
    format = models.CharField(_("format"), max_length=16, default="auto")
    dry_run = models.BooleanField(_("essai à blanc"), default=False)
    status = models.CharField(
        _("état"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    total = models.PositiveIntegerField(_("documents attendus"), null=True, blank=True)
    done = models.PositiveIntegerField(_("documents traités"), default=0)
    counts = models.JSONField(_("résultats"), default=dict, blank=True)
    report = models.TextField(_("rapport"), blank=True)
    started_by = models.CharField(_("lancé par"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("lancé le"), default=timezone.now)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)

    class Meta:
        app_label = "articles"
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ("-created_at",)

    def __str__(self):
        return self.file_name

    @property
    def folder(self) -> Path:
        return upload_dir() / str(self.pk)

    @property
    def path(self) -> Path:
        return self.folder / Path(self.file_name).name

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, round(100 * self.done / self.total))


def import_job_start(*, upload, file_name: str, fmt: str, dry_run: bool, user: str) -> ImportJob:
    """Keep the upload and queue the import (after commit)."""
    from django.db import transaction

    from .tasks import run_import_job

    job = ImportJob.objects.create(
        file_name=Path(file_name).name[:255] or "import", format=fmt, dry_run=dry_run,
        started_by=user[:150],
    )  # fmt: skip
    job.folder.mkdir(parents=True, exist_ok=True)
    with job.path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    transaction.on_commit(lambda: run_import_job.delay(job.pk))
    return job


def import_job_run(*, job_id: int) -> ImportJob:
    """The worker's part: run the import, writing progress every few documents."""
    from .importers.sources import sources_count
    from .importing import import_run
    from .management.commands.import_articles import result_lines, summary_lines

    job = ImportJob.objects.get(pk=job_id)
    if job.status != ImportJob.Status.WAITING:
        return job  # delivered twice: the first run is (or was) doing it
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, total=sources_count([job.path])
    )
    lines: list[str] = []
    pending: list[str] = []

    def on_result(result) -> None:
        pending.extend(text for text, _kind in result_lines(result))
        if len(pending) >= 20 or result.outcome == "failed":
            _flush()

    def _flush() -> None:
        if pending:
            lines.extend(pending)
            ImportJob.objects.filter(pk=job.pk).update(
                done=F("done") + sum(1 for p in pending if not p.startswith(" ")),
                report="\n".join(lines),
            )
            pending.clear()

    try:
        report = import_run(
            paths=[job.path], fmt=job.format, dry_run=job.dry_run, on_result=on_result
        )
    except Exception as exc:
        _flush()
        lines.append(str(_("Import interrompu : %(error)s") % {"error": exc}))
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, report="\n".join(lines), finished_at=timezone.now()
        )
        raise
    finally:
        shutil.rmtree(job.folder, ignore_errors=True)
    _flush()
    lines.extend(summary_lines(report))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE,
        done=len(report.results),
        counts=report.counts(),
        report="\n".join(lines),
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    return job
