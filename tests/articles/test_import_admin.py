"""The admin's « Importer » page: upload, a worker runs the import, progress and report."""

import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from articles.jobs import ImportJob
from articles.models import Article

pytestmark = pytest.mark.django_db

FIXTURES = Path(settings.BASE_DIR) / "tests" / "fixtures" / "import"


@pytest.fixture
def editor(client, admin_user, settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(admin_user)
    return client


def medium_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in (FIXTURES / "medium").rglob("*"):
            if path.is_file():
                archive.write(path, path.relative_to(FIXTURES / "medium").as_posix())
    return buffer.getvalue()


def test_upload_runs_in_the_worker_with_progress_and_a_downloadable_report(
    editor, django_capture_on_commit_callbacks, tmp_path
):
    page = editor.get(reverse("admin:articles_importjob_add"))
    assert page.status_code == 200 and "Importer" in page.content.decode()
    upload = SimpleUploadedFile("medium-export.zip", medium_zip(), "application/zip")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = editor.post(
            reverse("admin:articles_importjob_add"), {"file": upload, "format": "auto"}
        )
    assert callbacks  # the worker’s task is queued after commit, not inside the request
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:articles_importjob_progress", args=[job.pk])
    assert job.status == ImportJob.Status.DONE and job.done == 1
    assert job.counts == {"created": 1, "updated": 0, "unchanged": 0, "failed": 0}
    assert Article.objects.get().canonical_link.startswith("https://medium.com/@selma/")
    assert not job.folder.exists()  # the upload is not kept once imported
    progress = editor.get(response["Location"]).content.decode()
    assert "<progress" in progress and "terminé" in progress.lower()
    assert "créé : posts/2016-04-02_Ce-que-mes-clients" in progress
    assert 'http-equiv="refresh"' not in progress  # finished: the page stops refreshing
    report = editor.get(reverse("admin:articles_importjob_report", args=[job.pk]))
    assert report["Content-Disposition"].startswith("attachment;")
    text = report.content.decode()
    assert "1 brouillon(s) Medium non importé(s)" in text
    assert "1 fichier : 1 créé(s), 0 mis à jour, 0 inchangé(s), 0 en échec." in text


def test_a_waiting_import_page_refreshes_itself(editor):
    job = ImportJob.objects.create(file_name="blog.xml", total=10, done=4)
    job.status = ImportJob.Status.RUNNING
    job.save()
    page = editor.get(reverse("admin:articles_importjob_progress", args=[job.pk])).content.decode()
    assert (
        'http-equiv="refresh"' in page and 'value="40"' in page and "4 document(s) sur 10" in page
    )


def test_a_bad_archive_is_reported_not_a_crash(editor, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("piege.zip", _zip_with_parent_path(), "application/zip")
    with django_capture_on_commit_callbacks(execute=True):
        editor.post(reverse("admin:articles_importjob_add"), {"file": upload, "format": "auto"})
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.DONE and job.counts["failed"] == 1
    assert "Archive refusée" in job.report
    assert not Article.objects.exists()


def test_upload_of_another_kind_is_refused(editor):
    upload = SimpleUploadedFile("photo.exe", b"MZ", "application/octet-stream")
    response = editor.post(
        reverse("admin:articles_importjob_add"), {"file": upload, "format": "auto"}
    )
    assert response.status_code == 200 and "non pris en charge" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_only_editors_may_import(client, django_user_model):
    user = django_user_model.objects.create_user("lecteur", password="x", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:articles_importjob_add")).status_code == 403


def _zip_with_parent_path() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.md", "---\ntitle: Évadé\n---\nTexte.\n")
    return buffer.getvalue()
