from django.contrib import admin

from .models import Consent, Contact, MailingList, Subscription, Suppression


@admin.register(MailingList)
class MailingListAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "consent_version", "is_active")
    prepopulated_fields = {"slug": ("name",)}


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    readonly_fields = ("mailing_list", "status", "created_at", "confirmed_at", "unsubscribed_at")
    can_delete = False


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0
    readonly_fields = (
        "mailing_list",
        "text",
        "version",
        "form",
        "given_at",
        "ip_address",
        "user_agent",
    )
    can_delete = False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("email", "first_name", "profile", "source", "created_at", "suppressed_at")
    list_filter = ("subscriptions__mailing_list", "subscriptions__status", "profile", "source")
    search_fields = ("email", "first_name")
    date_hierarchy = "created_at"
    inlines = (SubscriptionInline, ConsentInline)


admin.site.register(Suppression)
