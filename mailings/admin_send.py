"""The sending journey of the mailing admin: one screen (audience with a live count,
now or later), one confirmation page with the count and the pre-send checks, then
pause, resume and cancel while it goes out."""

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from signups.models import MailingList, Profile

from . import abtest, broadcast, services
from .checks import mailing_check
from .models import Mailing, audience_contacts


def count_label(count: int, exact: bool) -> str:
    figure = f"{count:,}".replace(",", "\u202f")
    if exact:
        return ngettext("%(count)s contact", "%(count)s contacts", count) % {"count": figure}
    return _("environ %(count)s contacts (estimation)") % {"count": figure}


class ListChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class AudienceForm(forms.Form):
    """Who receives it: what the live count reads, before anything is saved."""

    lists = ListChoiceField(
        label=capfirst(gettext_lazy("listes")),
        queryset=MailingList.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    profiles = forms.MultipleChoiceField(
        label=capfirst(gettext_lazy("profils")),
        choices=Profile.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Aucun coché : tous les profils."),
    )
    signed_up_after = forms.DateField(
        label=capfirst(gettext_lazy("inscrits depuis le")),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    signed_up_before = forms.DateField(
        label=capfirst(gettext_lazy("inscrits avant le")),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    answer_contains = forms.CharField(
        label=capfirst(gettext_lazy("réponse à la question contenant")),
        max_length=100,
        required=False,
        help_text=Mailing._meta.get_field("answer_contains").help_text,
    )

    def audience(self):
        """The contacts these choices reach, one row each."""
        data = self.cleaned_data
        return audience_contacts(
            list_ids=[mailing_list.pk for mailing_list in data["lists"]],
            profiles=data["profiles"],
            signed_up_after=data["signed_up_after"],
            signed_up_before=data["signed_up_before"],
            answer_contains=data["answer_contains"],
        )


class SendForm(AudienceForm):
    NOW, LATER = "now", "later"
    when = forms.ChoiceField(
        label=gettext_lazy("Quand"),
        choices=[
            (NOW, gettext_lazy("Envoyer maintenant")),
            (LATER, gettext_lazy("Programmer")),
        ],
        widget=forms.RadioSelect,
        initial=LATER,
    )
    send_date = forms.DateField(
        label=capfirst(gettext_lazy("date d’envoi")),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    send_time = forms.TimeField(
        label=capfirst(gettext_lazy("heure d’envoi")),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    time_zone = forms.ChoiceField(
        label=capfirst(gettext_lazy("fuseau horaire")),
        choices=Mailing._meta.get_field("time_zone").choices,
    )
    local_time = forms.BooleanField(
        label=gettext_lazy("À l’heure locale de chaque lecteur"),
        required=False,
        help_text=Mailing._meta.get_field("local_time").help_text,
    )

    def clean(self):
        data = super().clean()
        after, before = data.get("signed_up_after"), data.get("signed_up_before")
        if after and before and after >= before:
            self.add_error(
                "signed_up_before", _("Cette date doit être après « inscrits depuis le ».")
            )
        if not data.get("lists"):
            self.add_error("lists", _("Choisissez au moins une liste de destinataires."))
        if data.get("when") == self.LATER:
            if not (data.get("send_date") and data.get("send_time")):
                self.add_error("send_date", _("Indiquez la date et l’heure d’envoi."))
            else:
                probe = Mailing(
                    send_date=data["send_date"],
                    send_time=data["send_time"],
                    time_zone=data.get("time_zone") or settings.TIME_ZONE,
                    local_time=data.get("local_time", False),
                )
                if probe.send_at() < timezone.now() - dt.timedelta(minutes=1):
                    self.add_error(
                        "send_time",
                        _(
                            "Cette heure est passée : choisissez une heure à venir ou « Envoyer maintenant »."
                        ),
                    )
        return data

    @classmethod
    def initial_for(cls, mailing: Mailing) -> dict:
        return {
            "lists": list(mailing.lists.all()),
            "profiles": mailing.profiles,
            "signed_up_after": mailing.signed_up_after,
            "signed_up_before": mailing.signed_up_before,
            "answer_contains": mailing.answer_contains,
            "when": cls.LATER,
            "send_date": mailing.send_date,
            "send_time": mailing.send_time,
            "time_zone": mailing.time_zone,
            "local_time": mailing.local_time,
        }

    def save(self, mailing: Mailing) -> None:
        """The choices, kept on the mailing; a scheduled one goes back to draft until the
        confirmation schedules it again (never a departure nobody confirmed)."""
        if mailing.status == Mailing.Status.SCHEDULED:
            mailing = services.mailing_unschedule(mailing=mailing)
        data = self.cleaned_data
        mailing.profiles = data["profiles"]
        mailing.signed_up_after = data["signed_up_after"]
        mailing.signed_up_before = data["signed_up_before"]
        mailing.answer_contains = data["answer_contains"]
        mailing.time_zone = data["time_zone"]
        if data["when"] == self.LATER:
            mailing.send_date = data["send_date"]
            mailing.send_time = data["send_time"]
            mailing.local_time = data["local_time"]
        mailing.save()
        mailing.lists.set(data["lists"])


class MailingSendMixin:
    """Views of the sending journey, added to MailingAdmin."""

    def send_urls(self):
        view = self.admin_site.admin_view
        return [
            path("audience/", view(self.audience_count_view), name="mailings_mailing_audience"),
            path("<int:pk>/envoyer/", view(self.send_view), name="mailings_mailing_send"),
            path(
                "<int:pk>/programmer/", view(self.schedule_view), name="mailings_mailing_schedule"
            ),
            path("<int:pk>/pause/", view(self.pause_view), name="mailings_mailing_pause"),
            path("<int:pk>/reprendre/", view(self.resume_view), name="mailings_mailing_resume"),
        ]

    def _context(self, request, mailing, title):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": mailing,
            "title": title % {"subject": mailing.subject},
        }

    def audience_count_view(self, request):
        """The live count: the audience the form describes, saved or not (JSON)."""
        if not self.has_view_or_change_permission(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        form = AudienceForm(request.GET)
        if not form.is_valid():
            return JsonResponse({"count": None, "label": _("Filtres incomplets")})
        count, exact = broadcast.audience_size(form.audience())
        return JsonResponse({"count": count, "exact": exact, "label": count_label(count, exact)})

    def send_view(self, request, pk):
        """The one screen to send: who (with the live count) and when."""
        mailing = self._mailing(request, pk)
        if not mailing.is_editable:
            self.message_user(request, _("Ce mailing est déjà parti ou annulé."), messages.ERROR)
            return self._back(mailing)
        if request.method == "POST":
            form = SendForm(request.POST)
            if form.is_valid():
                form.save(mailing)
                url = reverse("admin:mailings_mailing_schedule", args=[mailing.pk])
                if form.cleaned_data["when"] == SendForm.NOW:
                    url += "?maintenant=1"
                return HttpResponseRedirect(url)
        else:
            form = SendForm(initial=SendForm.initial_for(mailing))
        count, exact = broadcast.audience_size(mailing.audience_contacts())
        context = {
            **self._context(request, mailing, _("Envoyer « %(subject)s »")),
            "form": form,
            "count_label": count_label(count, exact),
            "count_url": reverse("admin:mailings_mailing_audience"),
        }
        return TemplateResponse(request, "admin/mailings/mailing/send.html", context)

    def schedule_view(self, request, pk):
        """The confirmation: how many, when, and the checks; POST sends or schedules.
        With ?article=<id> (« Publier et envoyer »), the article is published too."""
        from articles.models import Article

        from .admin_publish import checks_as_published, publish_and_send

        mailing = self._mailing(request, pk)
        now = request.POST.get("now", request.GET.get("maintenant")) == "1"
        article_id = request.GET.get("article", "")
        article = Article.objects.filter(pk=article_id).first() if article_id.isdigit() else None
        if article is not None and not request.user.has_perm("articles.change_article"):
            raise PermissionDenied  # publishing is the article editor's call
        if request.method == "POST":
            try:
                if article is not None:
                    mailing = publish_and_send(article=article, mailing=mailing, now=now)
                else:
                    mailing = broadcast.mailing_send(mailing=mailing, now=now)
            except services.ScheduleError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
            if article is not None:
                self.message_user(request, _("Article publié."), messages.SUCCESS)
            self.message_user(
                request,
                _("Envoi lancé.") if now else _("Mailing programmé."),
                messages.SUCCESS,
            )
            return self._back(mailing)
        if article is not None:
            report = checks_as_published(article=article, mailing=mailing)
        else:
            report = mailing_check(mailing=mailing)
        count, exact = broadcast.audience_size(mailing.audience_contacts())
        context = {
            **self._context(request, mailing, _("Confirmer l’envoi de « %(subject)s »")),
            "now": now,
            "audience_count": count,
            "count_label": count_label(count, exact),
            "departure": self.departure(mailing),
            "send_at": mailing.send_at(),
            "report": report,
            "article": article,
            "ab_summary": abtest.describe(mailing) if abtest.is_ab(mailing) else "",
        }
        return TemplateResponse(request, "admin/mailings/mailing/schedule.html", context)

    def state_change_response(self, request, pk, change, done: str):
        """Pause, resume or cancel (`change(mailing=…)`, which returns how many deliveries
        it changed) on POST; say how it went; back to the mailing's page. `done` has a
        « %(count)s »."""
        mailing = self._mailing(request, pk)
        if request.method == "POST":
            try:
                count = change(mailing=mailing)
            except services.ScheduleError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, done % {"count": count}, messages.SUCCESS)
        return self._back(mailing)

    def pause_view(self, request, pk):
        return self.state_change_response(
            request,
            pk,
            broadcast.mailing_pause,
            _("Envoi en pause : %(count)s messages attendent."),
        )

    def resume_view(self, request, pk):
        return self.state_change_response(
            request,
            pk,
            broadcast.mailing_resume,
            _("Envoi repris : %(count)s messages repartent."),
        )
