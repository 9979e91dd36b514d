"""The admin's « Importer » page: an upload, an import run by a worker, a progress bar
and the report (downloadable)."""

from django import forms
from django.contrib import admin
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from .importers import FORMATS
from .jobs import ImportJob, import_job_start

ACCEPTED = (".zip", ".xml", ".json", ".md", ".markdown", ".txt", ".html")


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier"),
        help_text=_(
            "Un zip (dossier Markdown, export Medium ou Substack, export WordPress avec ses "
            "images), un export WordPress (.xml), un export Ghost (.json) ou un document."
        ),
    )
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[(f, f) for f in FORMATS],
        initial="auto",
        help_text=_("« auto » reconnaît le format d’après le contenu."),
    )
    dry_run = forms.BooleanField(
        label=_("Essai à blanc"),
        required=False,
        help_text=_("Tout lire et rendre compte, sans rien enregistrer."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(ACCEPTED):
            raise forms.ValidationError(
                _("Format de fichier non pris en charge : zip, xml, json, md, txt ou html.")
            )
        return upload


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("file_name", "status", "dry_run", "done", "started_by", "created_at")
    list_filter = ("status",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return request.user.has_perm("articles.add_article")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/suivi/", view(self.progress_view), name="articles_importjob_progress"),
            path("<int:pk>/rapport.txt", view(self.report_view), name="articles_importjob_report"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            job = import_job_start(
                upload=upload,
                file_name=upload.name,
                fmt=form.cleaned_data["format"],
                dry_run=form.cleaned_data["dry_run"],
                user=request.user.get_username(),
            )
            return HttpResponseRedirect(reverse("admin:articles_importjob_progress", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Importer"),
            "form": form,
            "recent": ImportJob.objects.all()[:10],
        }
        return TemplateResponse(request, "admin/articles/importjob/upload.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not str(object_id).isdigit():
            raise Http404
        return HttpResponseRedirect(reverse("admin:articles_importjob_progress", args=[object_id]))

    def progress_view(self, request, pk):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        job = get_object_or_404(ImportJob, pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import : %(name)s") % {"name": job.file_name},
            "job": job,
            "running": job.status in (ImportJob.Status.WAITING, ImportJob.Status.RUNNING),
        }
        return TemplateResponse(request, "admin/articles/importjob/progress.html", context)

    def report_view(self, request, pk):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        job = get_object_or_404(ImportJob, pk=pk)
        response = HttpResponse(job.report + "\n", content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="rapport-import-{job.pk}.txt"'
        return response
