import json
import uuid
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.admin import EstimatedCountMixin, KeptOnDeleteMixin

from . import audience, exports, importing, rights, suppression
from .forms import ImportForm, normalise_email
from .models import (
    Answer,
    Consent,
    Contact,
    InterviewApplication,
    MailingList,
    Subscription,
    Suppression,
)


@admin.register(MailingList)
class MailingListAdmin(KeptOnDeleteMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "consent_version", "is_active", "page_link", "export_link")
    prepopulated_fields = {"slug": ("name",), "path": ("name",)}
    readonly_fields = ("page_link",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "description", "is_active")}),
        (_("Consentement"), {"fields": ("consent_text", "consent_version")}),
        (
            _("Page publique"),
            {
                "fields": (
                    ("path", "page_link"),
                    "is_listed",
                    "page_kicker",
                    "page_title",
                    "page_intro",
                    "shows_syllabus",
                    "form_heading",
                    ("ask_first_name", "ask_profile", "ask_answer"),
                    "answer_label",
                )
            },
        ),
    )

    @admin.display(description=_("page"))
    def page_link(self, obj):
        if not obj or not obj.pk or not obj.path:
            return "—"
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), _("voir la page"))

    def kept_records(self, obj) -> str:
        if count := obj.subscriptions.count():
            return ngettext(
                "%(count)s abonnement, avec sa preuve de consentement (désactivez la liste plutôt)",
                "%(count)s abonnements, avec leurs preuves de consentement (désactivez la liste plutôt)",
                count,
            ) % {"count": count}
        return ""

    def get_urls(self):
        return [
            path(
                "<int:pk>/export.csv",
                self.admin_site.admin_view(self.export_csv),
                name="signups_mailinglist_export",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("export"))
    def export_link(self, obj):
        url = reverse("admin:signups_mailinglist_export", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Exporter les abonné·es (CSV)"))

    def export_csv(self, request, pk: int):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        mailing_list = get_object_or_404(MailingList, pk=pk)
        response = StreamingHttpResponse(
            exports.mailing_list_csv(mailing_list=mailing_list),
            content_type="text/csv; charset=utf-8",
        )
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = (
            f'attachment; filename="liste-{mailing_list.slug}-{stamp}.csv"'
        )
        return response


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = readonly_fields = (
        "mailing_list",
        "status",
        "created_at",
        "confirmation_sent_at",
        "confirmed_at",
        "unsubscribed_at",
    )
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0
    fields = readonly_fields = (
        "mailing_list",
        "text",
        "version",
        "form",
        "given_at",
        "ip_address",
        "user_agent",
    )
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    fields = readonly_fields = ("text", "mailing_list", "profile", "created_at")
    can_delete = False
    verbose_name_plural = _("réponses à la question de l’inscription")

    def has_add_permission(self, request, obj=None):
        return False


class ContactAdminForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = (
            "email",
            "first_name",
            "profile",
            "time_zone",
            "language",
            "source",
            "click_tracking_refused",
        )

    def clean_email(self):
        email = self.cleaned_data.get("email")
        return normalise_email(email) if email else None


class SignupDateFilter(admin.SimpleListFilter):
    title = _("date d’inscription")
    parameter_name = "signed_up"

    def lookups(self, request, model_admin):
        return (
            ("7", _("7 derniers jours")),
            ("30", _("30 derniers jours")),
            ("90", _("90 derniers jours")),
            ("older", _("il y a plus de 90 jours")),
        )

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        now = timezone.now()
        if value == "older":
            return queryset.filter(created_at__lt=now - timedelta(days=90))
        return queryset.filter(created_at__gte=now - timedelta(days=int(value)))


class SubscribedToFilter(admin.SimpleListFilter):
    """Contacts with a subscription to a list (and of a status, with the next filter).
    A condition on their subscriptions (EXISTS), not a join: a join repeats a contact
    per subscription and makes the admin add a DISTINCT over every column."""

    title = _("liste")
    parameter_name = "liste"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in MailingList.objects.values_list("pk", "name")]

    def queryset(self, request, queryset):
        return _subscribed(queryset, request.GET.get("liste"), request.GET.get("abonnement"))


class SubscriptionStatusFilter(admin.SimpleListFilter):
    title = _("abonnement")
    parameter_name = "abonnement"

    def lookups(self, request, model_admin):
        return Subscription.Status.choices

    def queryset(self, request, queryset):
        return _subscribed(queryset, request.GET.get("liste"), request.GET.get("abonnement"))


def _subscribed(queryset, list_id, status):
    """Contacts (or, given subscriptions, those subscriptions) of a list and a status."""
    if not (list_id or status):
        return queryset
    if queryset.model is Subscription:
        subscriptions = queryset
    else:
        subscriptions = Subscription.objects.filter(contact=OuterRef("pk"))
    if list_id:
        if not list_id.isdigit():
            return queryset.none()
        subscriptions = subscriptions.filter(mailing_list_id=list_id)
    if status:
        subscriptions = subscriptions.filter(status=status)
    if queryset.model is Subscription:
        return subscriptions
    return queryset.filter(Exists(subscriptions))


class SourceFilter(admin.SimpleListFilter):
    """Where contacts came from, in two kinds: the site's forms or an import (listing
    every distinct source would read the whole table on each page)."""

    title = _("source")
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return (("site", _("formulaires du site")), ("import", _("imports")))

    def queryset(self, request, queryset):
        if self.value() == "import":
            return queryset.filter(source__startswith="import:")
        if self.value() == "site":
            return queryset.exclude(source__startswith="import:")
        if self.value():  # one source exactly (a link from elsewhere)
            return queryset.filter(source=self.value())
        return queryset


IMPORT_CACHE_KEY = "contacts-import:%s"


class SuppressionReasonFilter(admin.SimpleListFilter):
    """Why a contact is blocked: the reasons the code writes (not a DISTINCT over every
    contact on each page)."""

    title = _("motif du blocage")
    parameter_name = "suppression_reason"

    def lookups(self, request, model_admin):
        return (
            ("hard_bounce", _("adresse rejetée")),
            ("complaint", _("plainte (spam)")),
            ("soft_bounces", _("rejets temporaires répétés")),
            ("import_cleaned", _("nettoyée dans l’ancien outil")),
            ("manual", _("à la main")),
        )

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(suppression_reason=self.value())
        return queryset


@admin.register(Contact)
class ContactAdmin(EstimatedCountMixin, admin.ModelAdmin):
    form = ContactAdminForm
    change_list_template = "admin/signups/contact/change_list.html"
    list_display = (
        "email",
        "first_name",
        "profile",
        "source",
        "lists",
        "created_at",
        "last_activity_at",
        "suppressed_at",
    )
    list_filter = (
        SubscribedToFilter,
        SubscriptionStatusFilter,
        "profile",
        SourceFilter,
        SignupDateFilter,
        ("inactive_flagged_at", admin.EmptyFieldListFilter),
        ("erased_at", admin.EmptyFieldListFilter),
        SuppressionReasonFilter,
    )
    # Served by trigram indexes on PostgreSQL. No date hierarchy: its years and months
    # are a DISTINCT over the whole table on every page; « date d’inscription » filters.
    search_fields = ("email", "first_name")
    show_full_result_count = False
    list_per_page = 50  # a page is rendered cell by cell in Python: 100 rows cost twice
    readonly_fields = (
        "created_at",
        "last_activity_at",
        "suppressed_at",
        "suppression_reason",
        "erased_at",
        "inactive_flagged_at",
        "transactional_sent_at",
    )
    inlines = (SubscriptionInline, ConsentInline, AnswerInline)
    actions = ("export_json", "erase", "resume")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("subscriptions__mailing_list")

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = super().get_paginator(
            request, queryset, per_page, orphans, allow_empty_first_page
        )
        params = set(request.GET) - {"p", "o"}
        if params and params <= {"liste", "abonnement"}:
            # Filtered by list and status alone: as many contacts as subscriptions, read
            # from the subscriptions' (list, status, contact) index, not by a semi-join.
            subscriptions = _subscribed(
                Subscription.objects.all(), request.GET.get("liste"), request.GET.get("abonnement")
            )
            paginator.count = subscriptions.count()
        return paginator

    @admin.display(description=_("listes"))
    def lists(self, obj):
        labels = {value: str(label) for value, label in Subscription.Status.choices}
        return ", ".join(
            f"{s.mailing_list.slug} ({labels.get(s.status, s.status)})"
            for s in obj.subscriptions.all()
        )

    @admin.action(description=_("Exporter les données (JSON)"), permissions=["view"])
    def export_json(self, request, queryset):
        data = [rights.contact_export(contact=contact) for contact in queryset]
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="contacts.json"'
        return response

    @admin.action(description=_("Effacer les données personnelles"), permissions=["delete"])
    def erase(self, request, queryset):
        count = 0
        for contact in queryset.filter(erased_at__isnull=True):
            rights.contact_erase(contact=contact, reason="erased")
            count += 1
        self.message_user(
            request,
            _(
                "%(count)d contact(s) effacé(s) : seule une empreinte de chaque adresse "
                "est conservée."
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(
        description=_("Reprendre les envois (arrêtés après des rebonds temporaires)"),
        permissions=["change"],
    )
    def resume(self, request, queryset):
        resumed = sum(suppression.contact_resume(contact=contact) for contact in queryset)
        self.message_user(
            request,
            _(
                "%(count)d contact(s) recevront de nouveau les envois ; une adresse bloquée "
                "pour de bon (rebond définitif, plainte) le reste."
            )
            % {"count": resumed},
            messages.SUCCESS,
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_csv), name="signups_contact_import"),
            path("audience/", view(self.audience), name="signups_contact_audience"),
            *super().get_urls(),
        ]

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

    def audience(self, request):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Audience"),
            **audience.summary(),
        }
        return TemplateResponse(request, "admin/signups/contact/audience.html", context)


@admin.register(InterviewApplication)
class InterviewApplicationAdmin(admin.ModelAdmin):
    list_display = ("company", "contact", "activity", "city", "country", "status", "created_at")
    list_editable = ("status",)
    list_filter = ("status", "country")
    search_fields = ("company", "activity", "city", "contact__email")
    readonly_fields = ("contact", "created_at", "acknowledged_at")
    fields = (
        "status",
        "notes",
        "contact",
        "company",
        "activity",
        "city",
        "country",
        "story",
        "created_at",
        "acknowledged_at",
    )
    ordering = ("created_at",)
    actions = ("mark_contacted", "mark_scheduled", "mark_published")

    def _move(self, request, queryset, status):
        count = queryset.update(status=status)
        self.message_user(request, _("%(count)d candidature(s) mise(s) à jour.") % {"count": count})

    @admin.action(description=_("Marquer comme contacté·e"), permissions=["change"])
    def mark_contacted(self, request, queryset):
        self._move(request, queryset, InterviewApplication.Status.CONTACTED)

    @admin.action(description=_("Marquer l’entretien comme planifié"), permissions=["change"])
    def mark_scheduled(self, request, queryset):
        self._move(request, queryset, InterviewApplication.Status.SCHEDULED)

    @admin.action(description=_("Marquer comme publié"), permissions=["change"])
    def mark_published(self, request, queryset):
        self._move(request, queryset, InterviewApplication.Status.PUBLISHED)


@admin.register(Answer)
class AnswerAdmin(EstimatedCountMixin, admin.ModelAdmin):
    list_display = ("text", "profile", "mailing_list", "created_at")
    list_filter = ("profile", "mailing_list")
    search_fields = ("text",)
    readonly_fields = ("contact", "mailing_list", "text", "profile", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(Suppression)
class SuppressionAdmin(EstimatedCountMixin, admin.ModelAdmin):
    list_display = ("email_hash", "reason", "created_at")
    list_filter = ("reason",)
    readonly_fields = ("email_hash", "reason", "created_at")

    def has_add_permission(self, request):
        return False
