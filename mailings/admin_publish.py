"""From the article admin to readers' inboxes: « Publier et envoyer » (publish, make
the mailing to the lists chosen, check, send now or later) and the draft-only action,
which asks which lists."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from signups.models import MailingList

from . import broadcast, services
from .admin_send import ListChoiceField, SendForm, count_label
from .models import audience_contacts


def open_lists():
    return MailingList.objects.filter(is_active=True).order_by("name")


def preselected_lists() -> list[int]:
    """What an article's mailing goes to unless the editor says otherwise: the newsletter."""
    return list(open_lists().filter(slug="newsletter").values_list("pk", flat=True))


class ListsForm(forms.Form):
    lists = ListChoiceField(
        label=capfirst(gettext_lazy("listes")),
        queryset=open_lists(),
        widget=forms.CheckboxSelectMultiple,
    )


class PublishAndSendMixin:
    """Added to the article admin: the « Publier et envoyer » screen."""

    def publish_send_urls(self):
        return [
            path(
                "<int:pk>/publier-et-envoyer/",
                self.admin_site.admin_view(self.publish_send_view),
                name="articles_article_publish_send",
            ),
        ]

    def publish_send_view(self, request, pk):
        """Who and when; then the mailing's confirmation page, which publishes and sends."""
        article = get_object_or_404(self.model, pk=pk)
        if not self.has_change_permission(request, article):
            raise PermissionDenied
        preselected = []
        if request.method == "POST":
            form = SendForm(request.POST)
            form.fields["lists"].queryset = open_lists()
            if form.is_valid():
                mailing = services.mailing_create_from_article(
                    article=article, lists=form.cleaned_data["lists"]
                )
                form.save(mailing)
                url = reverse("admin:mailings_mailing_schedule", args=[mailing.pk])
                url += f"?article={article.pk}"
                if form.cleaned_data["when"] == SendForm.NOW:
                    url += "&maintenant=1"
                return HttpResponseRedirect(url)
        else:
            preselected = preselected_lists()
            form = SendForm(
                initial={
                    "when": SendForm.NOW,
                    "time_zone": settings.TIME_ZONE,
                    "lists": preselected,
                }
            )
            form.fields["lists"].queryset = open_lists()
        count, exact = (0, True)
        if not form.is_bound and preselected:
            count, exact = broadcast.audience_size(audience_contacts(list_ids=preselected))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": article,
            "title": _("Publier et envoyer « %(title)s »") % {"title": article.title},
            "form": form,
            "count_label": count_label(count, exact),
            "count_url": reverse("admin:mailings_mailing_audience"),
            "publishing": True,
        }
        return TemplateResponse(request, "admin/mailings/mailing/send.html", context)


def create_mailing_from_article(modeladmin, request, queryset):
    """An action of the article list: one draft per article, to the lists chosen on an
    intermediate page (Django's action confirmation pattern)."""
    if "apply" in request.POST:
        form = ListsForm(request.POST)
    else:
        form = ListsForm(initial={"lists": preselected_lists()})
    if not form.is_valid():
        context = {
            **modeladmin.admin_site.each_context(request),
            "opts": modeladmin.model._meta,
            "title": _("Créer un mailing à partir de l’article"),
            "form": form,
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": request.POST.get("action", "create_mailing_from_article"),
        }
        return TemplateResponse(request, "admin/mailings/mailing/choose_lists.html", context)
    lists = form.cleaned_data["lists"]
    created = [
        services.mailing_create_from_article(article=article, lists=lists) for article in queryset
    ]
    if len(created) == 1:
        modeladmin.message_user(request, _("Mailing créé en brouillon."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:mailings_mailing_change", args=[created[0].pk]))
    modeladmin.message_user(
        request,
        ngettext(
            "%(count)s mailing créé en brouillon.",
            "%(count)s mailings créés en brouillon.",
            len(created),
        )
        % {"count": len(created)},
        messages.SUCCESS,
    )
    return None


create_mailing_from_article.short_description = gettext_lazy(
    "Créer un mailing à partir de l’article"
)
create_mailing_from_article.allowed_permissions = ("change",)


def publish_and_send(*, article, mailing, now: bool):
    """Check the mailing (the article's own page counts as online), then publish the
    article and send or schedule its mailing in one transaction. When a check blocks,
    nothing changes (SendRefused)."""
    from django.db import transaction
    from django.utils import timezone

    from articles.services import article_publish

    report = checks_as_published(article=article, mailing=mailing)
    if not report.ok:
        raise broadcast.SendRefused(report)
    with transaction.atomic():
        if not article.is_live:
            article_publish(article=article, at=timezone.now())
        return broadcast.mailing_send(mailing=mailing, now=now, report=report)


def checks_as_published(*, article, mailing):
    """The pre-send checks as they will be once the article is online: its own page is
    taken as answering (it is not published to find out: a page rendered meanwhile would
    be cached for readers)."""
    from .checks import mailing_check

    return mailing_check(mailing=mailing, online=[article.get_absolute_url()])
