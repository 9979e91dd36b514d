"""The replies inbox in the admin: unread first, filtered by mailing or lesson; each
reply beside the reader's profile and signup answer, with « répondre », and its
attachments to download (never shown inline: a reader's file is a stranger's file)."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.mail import SendFailed
from signups.models import Answer

from . import replies
from .models import Reply, ReplyAttachment


class ReadFilter(admin.SimpleListFilter):
    title = gettext_lazy("lecture")
    parameter_name = "lue"

    def lookups(self, request, model_admin):
        return (("non", gettext_lazy("non lues")), ("oui", gettext_lazy("lues")))

    def queryset(self, request, queryset):
        if self.value() == "non":
            return queryset.filter(read_at__isnull=True)
        if self.value() == "oui":
            return queryset.filter(read_at__isnull=False)
        return queryset


@admin.register(Reply)
class ReplyAdmin(admin.ModelAdmin):
    list_display = ("state", "received_at", "sender", "excerpt", "answers_to", "answer_state")
    list_display_links = ("excerpt",)
    list_filter = (
        ReadFilter,
        ("mailing", admin.RelatedOnlyFieldListFilter),
        ("step", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("from_email", "from_name", "subject", "text")
    list_per_page = 50
    show_full_result_count = False

    class Media:
        css = {"all": ("css/mailings-admin.css",)}  # the inbox on a phone

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("contact", "mailing", "step__sequence", "answered_by")
            .annotate(has_attachments=Exists(ReplyAttachment.objects.filter(reply=OuterRef("pk"))))
        )

    def get_ordering(self, request):
        return list(Reply.INBOX_ORDER)  # unread first, then the newest

    def has_add_permission(self, request):
        return False  # replies arrive by email only

    @admin.display(description=gettext_lazy("état"))
    def state(self, reply):
        if reply.read_at is None:
            return format_html('<strong class="reply-unread">{}</strong>', _("non lue"))
        return _("lue")

    @admin.display(description=gettext_lazy("de"), ordering="from_email")
    def sender(self, reply):
        return reply.from_name or reply.from_email

    @admin.display(description=gettext_lazy("réponse"))
    def excerpt(self, reply):
        text = Truncator(" ".join(reply.text.split())).chars(90)
        if getattr(reply, "has_attachments", False):
            return format_html(
                '<strong>{}</strong><br>{} <span class="reply-attached">({})</span>',
                reply.subject or "—",
                text,
                _("avec pièces jointes"),
            )
        return format_html("<strong>{}</strong><br>{}", reply.subject or "—", text)

    @admin.display(description=gettext_lazy("en réponse à"))
    def answers_to(self, reply):
        return str(reply.message) if reply.message else "—"

    @admin.display(description=gettext_lazy("répondu"))
    def answer_state(self, reply):
        if reply.answered_at:
            return _("répondu le %(date)s") % {
                "date": timezone.localtime(reply.answered_at).strftime("%d/%m/%Y %H:%M")
            }
        if reply.answer_requested_at:
            return _("réponse en cours d’envoi")
        return "—"

    def get_urls(self):
        download = path(
            "<path:object_id>/pieces-jointes/<int:attachment_id>/",
            self.admin_site.admin_view(self.attachment_download),
            name="mailings_reply_attachment",
        )
        return [download, *super().get_urls()]

    def _viewable(self, request, object_id) -> Reply:
        reply = self.get_object(request, unquote(object_id))  # None for "abc" too
        if reply is None:
            raise Http404
        if not self.has_view_or_change_permission(request, reply):
            raise PermissionDenied
        return reply

    def attachment_download(self, request, object_id, attachment_id):
        """The file as the reader sent it, as a download only: its own type is never
        trusted (an HTML or SVG file would otherwise run in the admin's origin)."""
        reply = self._viewable(request, object_id)
        attachment = get_object_or_404(ReplyAttachment, pk=attachment_id, reply=reply)
        if not attachment.file:
            raise Http404(attachment.not_kept)
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.filename,
            content_type="application/octet-stream",
        )
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        response["Cache-Control"] = "private, no-store"
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        reply = self._viewable(request, object_id)
        if request.method == "POST":
            if not self.has_change_permission(request, reply):
                raise PermissionDenied
            return self._post(request, reply)
        if reply.read_at is None:
            Reply.objects.filter(pk=reply.pk, read_at__isnull=True).update(read_at=timezone.now())
        contact = reply.contact
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": reply.subject or _("Réponse de %(who)s") % {"who": reply.from_email},
            "reply": reply,
            "attachments": reply.attachments.all(),
            "contact": contact,
            "subscriptions": (
                contact.subscriptions.select_related("mailing_list").order_by("pk")
                if contact
                else []
            ),
            "answers": Answer.objects.filter(contact=contact) if contact else [],
            "earlier": (
                Reply.objects.filter(contact=contact)
                .exclude(pk=reply.pk)
                .order_by("-received_at")[:10]
                if contact
                else []
            ),
            "can_answer": self.has_change_permission(request, reply)
            and not reply.answered_at
            and not reply.answer_requested_at,
            "changelist_url": reverse("admin:mailings_reply_changelist"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/mailings/reply/reply.html", context)

    def _post(self, request, reply):
        here = reverse("admin:mailings_reply_change", args=[reply.pk])
        if request.POST.get("action") == "unread":
            Reply.objects.filter(pk=reply.pk).update(read_at=None)
            messages.info(request, _("Marquée comme non lue."))
            return HttpResponseRedirect(reverse("admin:mailings_reply_changelist"))
        text = request.POST.get("answer", "")
        if not text.strip():
            messages.error(request, _("La réponse est vide."))
            return HttpResponseRedirect(here)
        if not replies.reply_answer_request(reply_id=reply.pk, text=text, user=request.user):
            messages.info(request, _("Cette réponse est déjà partie (ou en cours d’envoi)."))
            return HttpResponseRedirect(here)
        try:
            sent = replies.reply_answer_send(reply_id=reply.pk)
        except SendFailed:  # « not now »: the next tick sends it
            messages.warning(
                request,
                _("Le serveur d’envoi ne répond pas : la réponse partira dès que possible."),
            )
            return HttpResponseRedirect(here)
        if sent:
            messages.success(request, _("Réponse envoyée à %(who)s.") % {"who": reply.from_email})
        else:
            reply.refresh_from_db(fields=["answer_error"])
            messages.error(request, reply.answer_error or _("La réponse n’est pas partie."))
        return HttpResponseRedirect(here)
