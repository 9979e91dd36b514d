import json

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.admin import EstimatedCountMixin, KeptOnDeleteMixin

from . import audience, exports, rights, suppression
from .admin_filters import (
    SignupDateFilter,
    SourceFilter,
    SubscribedToFilter,
    SubscriptionStatusFilter,
    SuppressionReasonFilter,
    subscribed_to,
)
from .admin_import import ContactImportMixin
from .forms import normalise_email
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


@admin.register(Contact)
class ContactAdmin(ContactImportMixin, EstimatedCountMixin, admin.ModelAdmin):
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
            subscriptions = subscribed_to(
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
            *self.import_urls(),
            path("audience/", view(self.audience), name="signups_contact_audience"),
            *super().get_urls(),
        ]

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
