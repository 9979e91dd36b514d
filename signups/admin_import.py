"""Importing contacts from a CSV file in the admin: first the file and the editor's
statement, then a preview of the lines as they will be read, then the import."""

import uuid

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from . import importing
from .forms import ImportForm

IMPORT_CACHE_KEY = "contacts-import:%s"


class ContactImportMixin:
    """The import view of the contact admin and its URL."""

    def import_urls(self):
        view = self.admin_site.admin_view
        return [path("import/", view(self.import_csv), name="signups_contact_import")]

    def import_csv(self, request):
        """First the file and the editor's statement, then a preview of the lines as they
        will be read (and of the welcome emails enrolling would send), then the import."""
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        report = preview = None
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            contacts_file = None
            if data["file"] is not None:
                contacts_file = importing.contacts_file_read(raw=data["file"])
            elif stored := cache.get(IMPORT_CACHE_KEY % data["token"]):
                contacts_file = importing.ContactsFile(**stored)
            if contacts_file is None:
                form.add_error("file", _("Le fichier a expiré : choisissez-le à nouveau."))
            elif data["file"] is not None:
                try:
                    preview = importing.contacts_import_preview(
                        contacts_file=contacts_file,
                        mailing_list=data["mailing_list"],
                        enrol=data["enrol"],
                    )
                except ValidationError as exc:
                    form.add_error("file", exc)
                else:
                    token = uuid.uuid4().hex
                    cache.set(IMPORT_CACHE_KEY % token, vars(contacts_file), 3600)
                    preview["file"] = contacts_file
                    form = ImportForm(initial={**data, "file": None, "token": token})
            else:
                report = importing.contacts_import(
                    contacts_file=contacts_file,
                    mailing_list=data["mailing_list"],
                    consent_source=data["consent_source"],
                    consent_date=data["consent_date"],
                    imported_by=request.user.get_username(),
                    enrol=data["enrol"],
                )
                cache.delete(IMPORT_CACHE_KEY % data["token"])
                form = ImportForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Importer des contacts (CSV)"),
            "form": form,
            "preview": preview,
            "report": report,
        }
        return TemplateResponse(request, "admin/signups/contact/import.html", context)
