"""The contacts' list filters in the admin: by list and subscription status (a
condition on the subscriptions, not a join), signup date, source and why a contact is
blocked."""

from datetime import timedelta

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import MailingList, Subscription


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
        return subscribed_to(queryset, request.GET.get("liste"), request.GET.get("abonnement"))


class SubscriptionStatusFilter(admin.SimpleListFilter):
    title = _("abonnement")
    parameter_name = "abonnement"

    def lookups(self, request, model_admin):
        return Subscription.Status.choices

    def queryset(self, request, queryset):
        return subscribed_to(queryset, request.GET.get("liste"), request.GET.get("abonnement"))


def subscribed_to(queryset, list_id, status):
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
