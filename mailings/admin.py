import re
from collections import defaultdict

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.validators import validate_email
from django.db.models import Count
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from config.admin import EstimatedCountMixin, KeptOnDeleteMixin
from signups.models import Contact, Profile

from . import abtest, services
from .admin_contact import contact_admin_add_history
from .admin_results import MailingResultsMixin, mailing_results
from .admin_send import MailingSendMixin
from .models import Delivery, Event, Mailing, Variant


class MailingForm(forms.ModelForm):
    profiles = forms.MultipleChoiceField(
        label=capfirst(gettext_lazy("profils")),
        choices=Profile.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Seulement ces profils. Aucun coché : tous les profils."),
    )

    class Meta:
        model = Mailing
        fields = (
            "subject",
            "preheader",
            "body",
            "sender_name",
            "lists",
            "profiles",
            "signed_up_after",
            "signed_up_before",
            "answer_contains",
            "send_date",
            "send_time",
            "time_zone",
            "local_time",
            "ab_share",
            "ab_wait",
            "ab_measure",
        )
        widgets = {"lists": forms.CheckboxSelectMultiple}

    def clean(self):
        data = super().clean()
        after, before = data.get("signed_up_after"), data.get("signed_up_before")
        if after and before and after >= before:
            self.add_error(
                "signed_up_before", _("Cette date doit être après « inscrits depuis le ».")
            )
        return data


class ChromeLanguageForm(forms.Form):
    """The language of the chrome (greeting, footer, link labels) of a preview or a test
    send; the editor's subject and body stay as written."""

    language = forms.ChoiceField(choices=lambda: settings.LANGUAGES, required=False)

    @classmethod
    def chosen(cls, data) -> str:
        """The language asked for, or "" when none (or one the site does not have)."""
        form = cls(data)
        return form.cleaned_data["language"] if form.is_valid() else ""


class TestSendForm(forms.Form):
    """The addresses a test goes to: typed, separated by commas, spaces or new lines."""

    MAX = 10
    emails = forms.CharField(required=False)

    def clean_emails(self) -> list[str]:
        typed = [e for e in re.split(r"[\s,;]+", self.cleaned_data["emails"]) if e]
        if not typed:
            raise forms.ValidationError(
                _("Indiquez au moins une adresse pour recevoir le test (votre compte n’en a pas).")
            )
        if len(typed) > self.MAX:
            raise forms.ValidationError(
                _("Un test part vers %(max)s adresses au plus.") % {"max": self.MAX}
            )
        wrong = []
        for email in typed:
            try:
                validate_email(email)
            except forms.ValidationError:
                wrong.append(email)
        if wrong:
            raise forms.ValidationError(
                _("Adresse invalide : %(emails)s.") % {"emails": ", ".join(wrong)}
            )
        return list(dict.fromkeys(e.lower() for e in typed))


def message_buttons(request, *, form_id: str, preview_url: str) -> str:
    """The chrome language choice and the preview and test-send buttons of a message.
    They all belong to the test form `form_id` (a POST form outside the change form,
    which cannot hold another form), so one choice serves the three without
    JavaScript: the preview buttons send it by GET to the preview in a new tab, and
    only the test button carries the CSRF token, which never ends up in a URL."""
    return render_to_string(
        "admin/mailings/message_buttons.html",
        {
            "form_id": form_id,
            "preview_url": preview_url,
            "languages": settings.LANGUAGES,
            "default_language": settings.LANGUAGE_CODE,
            "test_emails": request.user.email,
            "csrf_token": get_token(request),
        },
    )


def _kept_deliveries(count: int) -> str:
    return ngettext(
        "%(count)s envoi, gardé dans l’historique",
        "%(count)s envois, gardés dans l’historique",
        count,
    ) % {"count": count}


class MessageAdminMixin:
    """Preview and test send of a message (a Mailing or a Step), shared by both admins."""

    class Media:
        # Their dates and hours are in a chosen or the reader's time zone, not the server's.
        js = ("js/admin-local-times.js",)

    def message_test_response(self, request, message, back):
        """POST: send `message`, marked as a test, to the addresses typed (the editor's
        own by default), the chrome in the language chosen (the site's default
        otherwise); then go `back`."""
        if request.method == "POST":
            data = request.POST.copy()
            data.setdefault("emails", request.user.email)  # a form without the field
            form = TestSendForm(data)
            if not form.is_valid():
                for error in form.errors.get("emails", []):
                    self.message_user(request, error, messages.ERROR)
                return back
            emails = form.cleaned_data["emails"]
            for email in emails:
                services.message_send_test(
                    message=message,
                    email=email,
                    first_name=request.user.first_name if email == request.user.email else "",
                    language=ChromeLanguageForm.chosen(request.POST),
                )
            self.message_user(
                request,
                _("Test envoyé à %(email)s.") % {"email": ", ".join(emails)},
                messages.SUCCESS,
            )
        return back

    def message_preview_response(self, request, message, audience):
        """The message as one contact would see it: ?contact=<id>&format=html|text;
        without a contact, the first of `audience` (subscriptions). The chrome is in
        the contact's language, or in ?language=<code> when given."""
        contact = None
        if request.GET.get("contact", "").isdigit():
            contact = Contact.objects.filter(pk=request.GET["contact"]).first()
        if contact is None:
            subscription = audience.select_related("contact").order_by("pk").first()
            contact = (
                subscription.contact
                if subscription
                else Contact(pk=0, first_name="Camille", email="")
            )
        html, text = services.message_preview(
            message=message, contact=contact, language=ChromeLanguageForm.chosen(request.GET)
        )
        if request.GET.get("format") == "text":
            return HttpResponse(text, content_type="text/plain; charset=utf-8")
        response = HttpResponse(html)
        response["X-Frame-Options"] = "SAMEORIGIN"
        response["Content-Security-Policy"] = "script-src 'none'"
        return response


class VariantFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE", False)
        ]
        if len(kept) == 1:
            raise forms.ValidationError(
                _("Un test A/B compare au moins deux objets (ou aucun : pas de test).")
            )


class VariantInline(admin.TabularInline):
    model = Variant
    formset = VariantFormSet
    extra = 0
    max_num = 4
    fields = ("position", "subject")

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.is_editable)

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


@admin.register(Mailing)
class MailingAdmin(
    MailingSendMixin, MailingResultsMixin, KeptOnDeleteMixin, MessageAdminMixin, admin.ModelAdmin
):
    form = MailingForm
    list_display = ("subject", "status", "departure", "progress_bar")
    list_filter = ("status",)
    search_fields = ("subject",)
    change_form_template = "admin/mailings/mailing/change_form.html"
    fieldsets = (
        (gettext_lazy("Message"), {"fields": ("subject", "preheader", "body", "sender_name")}),
        (
            gettext_lazy("Destinataires"),
            {
                "fields": (
                    "lists",
                    "profiles",
                    "signed_up_after",
                    "signed_up_before",
                    "answer_contains",
                )
            },
        ),
        (
            gettext_lazy("Envoi"),
            {"fields": ("send_date", "send_time", "time_zone", "local_time")},
        ),
        (
            gettext_lazy("Test A/B de l’objet"),
            {
                "fields": ("ab_share", "ab_wait", "ab_measure"),
                "description": gettext_lazy(
                    "Ajoutez deux à quatre objets ci-dessous pour les tester : chacun part "
                    "à une partie des lecteurs, puis le meilleur part au reste, tout seul."
                ),
            },
        ),
    )
    inlines = (VariantInline,)

    def get_readonly_fields(self, request, obj=None):
        if obj and not obj.is_editable:
            return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]
        return ()

    @admin.display(description=gettext_lazy("départ"))
    def departure(self, obj):
        if obj.local_time and obj.send_date and obj.send_time:
            return _("%(date)s à %(time)s, heure locale de chaque lecteur") % {
                "date": obj.send_date.strftime("%d/%m/%Y"),
                "time": obj.send_time.strftime("%H:%M"),
            }
        if obj.send_date and obj.send_time:
            return f"{obj.send_date:%d/%m/%Y} {obj.send_time:%H:%M} ({obj.time_zone})"
        return "—"

    def get_changelist(self, request, **kwargs):
        return MailingChangeList

    @admin.display(description=gettext_lazy("progression"))
    def progress_bar(self, obj):
        progress = obj.progress(getattr(obj, "delivery_counts", None))
        if not progress["total"]:
            return "—"
        return format_html(
            '<progress max="{}" value="{}"></progress> {} / {}',
            progress["total"],
            progress["sent"],
            progress["sent"],
            progress["total"],
        )

    def kept_records(self, obj) -> str:
        if count := obj.deliveries.count():
            return _kept_deliveries(count)
        return ""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            *self.send_urls(),
            path("<int:pk>/annuler/", view(self.cancel_view), name="mailings_mailing_cancel"),
            path("<int:pk>/test/", view(self.test_view), name="mailings_mailing_test"),
            path("<int:pk>/apercu/", view(self.preview_view), name="mailings_mailing_preview"),
            path("<int:pk>/apercu/<path:rest>", view(self.not_found_view)),
            path(
                "<int:pk>/progression/", view(self.progress_view), name="mailings_mailing_progress"
            ),
            *self.results_urls(),
            *super().get_urls(),
        ]

    def _mailing(self, request, pk):
        mailing = get_object_or_404(Mailing, pk=pk)
        if not self.has_change_permission(request, mailing):
            raise PermissionDenied
        return mailing

    def _back(self, mailing):
        return HttpResponseRedirect(reverse("admin:mailings_mailing_change", args=[mailing.pk]))

    def cancel_view(self, request, pk):
        return self.state_change_response(
            request,
            pk,
            services.mailing_cancel,
            _("Mailing annulé : %(count)s envois n’auront pas lieu."),
        )

    def test_view(self, request, pk):
        mailing = self._mailing(request, pk)
        return self.message_test_response(request, mailing, self._back(mailing))

    def preview_view(self, request, pk):
        mailing = self._mailing(request, pk)
        return self.message_preview_response(request, mailing, mailing.audience())

    def not_found_view(self, request, **kwargs):
        """What a preview's relative address would load: nothing here."""
        raise Http404

    def progress_view(self, request, pk):
        mailing = self._mailing(request, pk)
        return JsonResponse({"status": mailing.get_status_display(), **mailing.progress()})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        # get_object answers None for a malformed id (« abc ») instead of raising.
        if object_id and (mailing := self.get_object(request, object_id)):
            extra_context.update(
                {
                    "mailing": mailing,
                    # Once dispatched, the deliveries are the audience: no count again.
                    "audience_count": mailing.audience_count() if mailing.is_editable else None,
                    "progress": mailing.progress(),
                    "ab": abtest.results(mailing) if abtest.is_ab(mailing) else None,
                    "ab_summary": abtest.describe(mailing),
                    "live": mailing.status
                    in (Mailing.Status.SCHEDULED, Mailing.Status.SENDING, Mailing.Status.PAUSED),
                    "results": mailing_results(mailing=mailing),
                    "departure": self.departure(mailing),
                    "message_buttons": message_buttons(
                        request,
                        form_id="mailing-test-form",
                        preview_url=reverse("admin:mailings_mailing_preview", args=[mailing.pk]),
                    ),
                    "preview_contacts": mailing.audience()
                    .select_related("contact")
                    .order_by("pk")[:20],
                }
            )
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        mailing = form.instance
        if mailing.status == Mailing.Status.SCHEDULED:
            # Edited after scheduling: the departure follows the new date, time and zone.
            try:
                services.mailing_schedule(mailing=mailing)
            except services.ScheduleError as exc:
                services.mailing_unschedule(mailing=mailing)
                self.message_user(
                    request,
                    _("Mailing remis en brouillon : %(reason)s") % {"reason": exc},
                    messages.WARNING,
                )

    @admin.action(description=gettext_lazy("Annuler les mailings sélectionnés"))
    def cancel_selected(self, request, queryset):
        for mailing in queryset:
            try:
                services.mailing_cancel(mailing=mailing)
            except services.ScheduleError as exc:
                self.message_user(request, f"{mailing} : {exc}", messages.WARNING)

    actions = ("cancel_selected",)


class MailingChangeList(ChangeList):
    """The mailings list reads the progress of the unfinished mailings on the page in
    one query (a finished mailing keeps its own)."""

    def get_results(self, request):
        super().get_results(request)
        unfinished = [m.pk for m in self.result_list if not m.final_progress]
        counts = defaultdict(dict)
        rows = (
            Delivery.objects.filter(mailing_id__in=unfinished)
            .values_list("mailing_id", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for mailing_id, status, n in rows:
            counts[mailing_id][status] = n
        for mailing in self.result_list:
            mailing.delivery_counts = counts[mailing.pk]


@admin.register(Delivery)
class DeliveryAdmin(EstimatedCountMixin, admin.ModelAdmin):
    """The outbox, read only: its rows are the record of what was sent (and what keeps a
    reader from receiving a message twice); the worker alone writes them."""

    list_display = ("pk", "mailing", "step", "contact", "status", "sent_at", "error")
    list_filter = ("status", "mailing")
    list_select_related = ("mailing", "step", "contact")
    search_fields = ("contact__email", "esp_message_id")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(EstimatedCountMixin, admin.ModelAdmin):
    """ESP events as received, read only."""

    list_display = ("occurred_at", "kind", "mailing", "step", "reader", "detail")
    list_filter = ("kind", "mailing")
    list_select_related = ("mailing", "step", "delivery__contact")
    show_full_result_count = False

    @admin.display(description=gettext_lazy("lecteur"))
    def reader(self, obj):
        return obj.delivery.contact if obj.delivery else "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


contact_admin_add_history()


# The sequences' admin lives beside (it uses the message mixin above), and the inbox.
from . import admin_replies, admin_sequences  # noqa: E402, F401
