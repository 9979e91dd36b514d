"""Sequences in the admin: the steps listed compactly (order, delay, subject, sent and
clicked counts), each step edited on its own page with its preview and test send, and
delays typed in days and hours."""

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Func, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.utils.translation import gettext_lazy as _lazy

from config.admin import KeptOnDeleteMixin
from signups.models import Subscription

from . import services
from .admin import MessageAdminMixin, _kept_deliveries, message_buttons
from .models import Delivery, Enrolment, Sequence, Step
from .tallies import EventTally


class DelayWidget(forms.MultiWidget):
    """Two number fields, days then hours, each labelled for screen readers."""

    def __init__(self, attrs=None):
        number = {"type": "number", "min": "0", "class": "vIntegerField"}
        super().__init__(
            [
                forms.NumberInput(
                    attrs={**number, "aria-label": _lazy("jours"), "placeholder": _lazy("jours")}
                ),
                forms.NumberInput(
                    attrs={
                        **number,
                        "max": "23",
                        "aria-label": _lazy("heures"),
                        "placeholder": _lazy("heures"),
                    }
                ),
            ],
            attrs,
        )

    def decompress(self, value):
        if isinstance(value, dt.timedelta):
            return [value.days, value.seconds // 3600]
        return [None, None]


class DelayField(forms.MultiValueField):
    """A delay typed as days and hours (« 2 jours 0 heure »), not « 2 00:00:00 »."""

    widget = DelayWidget

    def __init__(self, **kwargs):
        kwargs.pop("max_length", None)
        fields = (
            forms.IntegerField(min_value=0, max_value=365),
            forms.IntegerField(min_value=0, max_value=23),
        )
        super().__init__(fields, require_all_fields=False, **kwargs)

    def compress(self, data_list):
        days, hours = (data_list or [None, None]) + [None] * (2 - len(data_list or []))
        return dt.timedelta(days=days or 0, hours=hours or 0)


class StepForm(forms.ModelForm):
    delay = DelayField(
        label=gettext_lazy("délai"),
        help_text=gettext_lazy(
            "Jours, puis heures d’attente après l’étape précédente (ou après la "
            "confirmation pour la première)."
        ),
    )

    class Meta:
        model = Step
        fields = (
            "sequence",
            "position",
            "delay",
            "subject",
            "preheader",
            "body",
            "window_start",
            "window_end",
            "weekdays_only",
        )
        # Plain hour fields: the admin's « Maintenant » shortcut means nothing for a window.
        widgets = {
            "window_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "window_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }


def delay_text(delay: dt.timedelta) -> str:
    days, hours = delay.days, delay.seconds // 3600
    parts = []
    if days:
        parts.append(ngettext("%(n)s jour", "%(n)s jours", days) % {"n": days})
    if hours or not days:
        parts.append(ngettext("%(n)s heure", "%(n)s heures", hours) % {"n": hours})
    return " ".join(parts)


def _count_of(queryset):
    """A correlated COUNT(*) of `queryset` (joining both would multiply the rows)."""
    return Coalesce(
        Subquery(
            queryset.order_by()
            .values(one=Value(1))
            .annotate(n=Func("pk", function="COUNT"))
            .values("n")[:1]
        ),
        0,
    )


class StepInline(admin.TabularInline):
    """The steps, one line each: order, delay, subject, how many were sent and how many
    readers clicked; each opens on its own page to be edited."""

    model = Step
    extra = 0
    fields = ("position", "delay_shown", "subject", "sent", "clicked", "edit")
    readonly_fields = ("delay_shown", "subject", "sent", "clicked", "edit")
    ordering = ("position",)

    def has_add_permission(self, request, obj=None):
        return False  # « Ajouter une étape » opens the step's own page

    def get_queryset(self, request):
        sent = Delivery.objects.filter(step=OuterRef("pk"), status=Delivery.Status.SENT)
        clicks = EventTally.objects.filter(step=OuterRef("pk"), kind="clicked")
        return (
            super()
            .get_queryset(request)
            .select_related("sequence")  # each row's title names it
            .annotate(
                sent_total=_count_of(sent),
                clicked_readers=Coalesce(
                    Subquery(
                        clicks.order_by().values("step").annotate(n=Sum("readers")).values("n")[:1],
                        output_field=IntegerField(),
                    ),
                    0,
                ),
            )
        )

    @admin.display(description=gettext_lazy("délai"))
    def delay_shown(self, obj):
        return delay_text(obj.delay)

    @admin.display(description=gettext_lazy("envoyés"))
    def sent(self, obj):
        return getattr(obj, "sent_total", 0)

    @admin.display(description=gettext_lazy("lecteurs qui ont cliqué"))
    def clicked(self, obj):
        return getattr(obj, "clicked_readers", 0)

    @admin.display(description="")
    def edit(self, obj):
        if not obj.pk:
            return ""
        url = reverse("admin:mailings_step_change", args=[obj.pk])
        return format_html(
            '<a class="button" href="{}">{}</a>', url, _("Modifier, prévisualiser, tester")
        )


@admin.register(Sequence)
class SequenceAdmin(KeptOnDeleteMixin, MessageAdminMixin, admin.ModelAdmin):
    list_display = ("name", "mailing_list", "is_active", "step_count", "active_readers")
    fields = ("name", "slug", "mailing_list", "is_active")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (StepInline,)
    change_form_template = "admin/mailings/sequence/change_form.html"

    def kept_records(self, obj) -> str:
        if count := Delivery.objects.filter(step__sequence=obj).count():
            return _("%(kept)s ; décochez « actif » pour arrêter la séquence") % {
                "kept": _kept_deliveries(count)
            }
        return ""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/etapes/<int:step>/apercu/",
                view(self.step_preview_view),
                name="mailings_sequence_step_preview",
            ),
            path(
                "<int:pk>/etapes/<int:step>/test/",
                view(self.step_test_view),
                name="mailings_sequence_step_test",
            ),
            *super().get_urls(),
        ]

    def _step(self, request, pk, step):
        step = get_object_or_404(Step.objects.select_related("sequence"), pk=step, sequence_id=pk)
        if not self.has_change_permission(request, step.sequence):
            raise PermissionDenied
        return step

    def step_preview_view(self, request, pk, step):
        step = self._step(request, pk, step)
        audience = Subscription.objects.mailable().filter(
            mailing_list_id=step.sequence.mailing_list_id
        )
        return self.message_preview_response(request, step, audience)

    def step_test_view(self, request, pk, step):
        step = self._step(request, pk, step)
        back = HttpResponseRedirect(reverse("admin:mailings_step_change", args=[step.pk]))
        return self.message_test_response(request, step, back)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        if object_id and str(object_id).isdigit():
            extra_context["add_step_url"] = (
                reverse("admin:mailings_step_add") + f"?sequence={object_id}"
            )
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request):
        # Counted in the list's own query, not one query per row and column.
        return (
            super()
            .get_queryset(request)
            .annotate(
                steps_total=_count_of(Step.objects.filter(sequence=OuterRef("pk"))),
                readers_active=_count_of(
                    Enrolment.objects.active().filter(sequence=OuterRef("pk"))
                ),
            )
        )

    @admin.display(description=gettext_lazy("étapes"), ordering="steps_total")
    def step_count(self, obj):
        return obj.steps_total

    @admin.display(description=gettext_lazy("lecteurs en cours"), ordering="readers_active")
    def active_readers(self, obj):
        return obj.readers_active

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not (change and "is_active" in form.changed_data):
            return
        if obj.is_active:
            count = services.sequence_activate(sequence=obj)
            self.message_user(
                request,
                ngettext(
                    "Séquence réactivée : %(count)s lecteur reprend là où il en était.",
                    "Séquence réactivée : %(count)s lecteurs reprennent là où ils en étaient.",
                    count,
                )
                % {"count": count},
                messages.SUCCESS,
            )
        else:
            count = services.sequence_deactivate(sequence=obj)
            self.message_user(
                request,
                _("Séquence désactivée : %(count)s envois n’auront pas lieu.") % {"count": count},
                messages.SUCCESS,
            )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Steps added, removed or edited: who is due when changes from now on.
        services.sequence_reschedule(sequence=form.instance)


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    """One step on its own page, with its preview and test send."""

    form = StepForm
    change_form_template = "admin/mailings/step/change_form.html"

    def has_module_permission(self, request):
        return False  # reached from its sequence, not from the index

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        sequence = request.GET.get("sequence", "")
        if sequence.isdigit():
            last = Step.objects.filter(sequence_id=sequence).order_by("-position").first()
            initial["position"] = (last.position + 1) if last else 1
        return initial

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        step = self.get_object(request, object_id) if object_id else None
        if step is not None:
            extra_context["step"] = step
            extra_context["message_buttons"] = message_buttons(
                request,
                form_id=f"step-test-form-{step.pk}",
                preview_url=reverse(
                    "admin:mailings_sequence_step_preview", args=[step.sequence_id, step.pk]
                ),
            )
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Who is due when changes from now on.
        services.sequence_reschedule(sequence=obj.sequence)

    def delete_model(self, request, obj):
        sequence = obj.sequence
        super().delete_model(request, obj)
        services.sequence_reschedule(sequence=sequence)

    def _back_to_sequence(self, obj):
        return HttpResponseRedirect(
            reverse("admin:mailings_sequence_change", args=[obj.sequence_id])
        )

    def response_add(self, request, obj, post_url_continue=None):
        if "_continue" in request.POST or "_addanother" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(request, _("Étape ajoutée."), messages.SUCCESS)
        return self._back_to_sequence(obj)

    def response_change(self, request, obj):
        if "_continue" in request.POST or "_addanother" in request.POST:
            return super().response_change(request, obj)
        self.message_user(request, _("Étape enregistrée."), messages.SUCCESS)
        return self._back_to_sequence(obj)

    def response_delete(self, request, obj_display, obj_id):
        return HttpResponseRedirect(reverse("admin:mailings_sequence_changelist"))
