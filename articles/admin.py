from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mailings.admin_publish import PublishAndSendMixin, create_mailing_from_article

from . import services
from .models import (
    Article,
    Category,
    Comment,
    Commenter,
    CommentSettings,
    CommentStatus,
    Redirect,
)


class RedirectInline(admin.TabularInline):
    model = Redirect
    extra = 0
    verbose_name = _("ancienne adresse (redirige ici)")
    verbose_name_plural = _("anciennes adresses (redirigent ici)")


@admin.register(Article)
class ArticleAdmin(PublishAndSendMixin, admin.ModelAdmin):
    list_display = ("title", "status", "published_at", "is_online", "author", "comment_count")
    list_filter = ("status", ("published_at", admin.DateFieldListFilter), "categories", "author")
    search_fields = ("title", "description", "body", "author")
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ("title",)}
    filter_horizontal = ("categories",)
    exclude = ("body_html",)
    readonly_fields = ("warnings", "source", "reading_minutes", "updated_at")
    inlines = (RedirectInline,)
    actions = ["publish_now", "unpublish", create_mailing_from_article]
    fieldsets = (
        (None, {"fields": ("title", "slug", "description", "body")}),
        (_("Publication"), {"fields": ("status", "published_at", "author", "categories")}),
        (_("Commentaires"), {"fields": ("comments_open", "comment_moderation")}),
        (
            _("Adresse et partage"),
            {"fields": ("permalink", "canonical_link", "image"), "classes": ("collapse",)},
        ),
        (
            _("Import"),
            {
                "fields": ("warnings", "source", "extra", "reading_minutes", "updated_at"),
                "classes": ("collapse",),
            },
        ),
    )

    def save_model(self, request, obj, form, change):
        services.article_save(article=obj)  # the old address keeps working

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_comments=Count("comments"))

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "canonical_link":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("En ligne"), boolean=True)
    def is_online(self, obj):
        return obj.is_live

    @admin.display(description=_("Commentaires"), ordering="_comments")
    def comment_count(self, obj):
        return obj._comments

    @admin.display(description=_("Avertissements d’import"))
    def warnings(self, obj):
        if not obj.import_warnings:
            return "—"
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((w,) for w in obj.import_warnings))
        )

    @admin.display(description=_("Fichier source"))
    def source(self, obj):
        return obj.source_path or "—"

    @admin.action(description=_("Publier maintenant (ou à la date prévue si elle est future)"))
    def publish_now(self, request, queryset):
        for article in queryset:
            services.article_publish(article=article)
        self.message_user(
            request,
            ngettext("%(count)d article publié.", "%(count)d articles publiés.", queryset.count())
            % {"count": queryset.count()},
            messages.SUCCESS,
        )

    @admin.action(description=_("Repasser en brouillon"))
    def unpublish(self, request, queryset):
        for article in queryset:
            services.article_unpublish(article=article)
        self.message_user(
            request,
            ngettext(
                "%(count)d article repassé en brouillon.",
                "%(count)d articles repassés en brouillon.",
                queryset.count(),
            )
            % {"count": queryset.count()},
            messages.SUCCESS,
        )

    def get_urls(self):
        return [
            path(
                "apercu/",
                self.admin_site.admin_view(self.preview_view),
                name="articles_article_preview",
            ),
            *self.publish_send_urls(),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """The page as readers would see it, from the form being edited (not saved)."""
        if request.method != "POST" or not (
            self.has_change_permission(request) or self.has_add_permission(request)
        ):
            raise PermissionDenied
        from .views import _render_article

        article = Article(
            title=request.POST.get("title", ""),
            slug=request.POST.get("slug", ""),
            description=request.POST.get("description", ""),
            body=request.POST.get("body", ""),
            author=request.POST.get("author", ""),
            canonical_link=request.POST.get("canonical_link", ""),
            permalink=request.POST.get("permalink", ""),
            published_at=timezone.now(),
        )
        article.render()
        categories = list(Category.objects.filter(pk__in=request.POST.getlist("categories")))
        response = _render_article(request, article, preview=True, categories=categories)
        response["X-Robots-Tag"] = "noindex"
        return response

    def render_change_form(self, request, context, *args, **kwargs):
        context["preview_url"] = reverse("admin:articles_article_preview")
        return super().render_change_form(request, context, *args, **kwargs)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "article_count")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_articles=Count("articles"))

    @admin.display(description=_("Articles"), ordering="_articles")
    def article_count(self, obj):
        return obj._articles


@admin.register(Redirect)
class RedirectAdmin(admin.ModelAdmin):
    list_display = ("old_path", "article")
    search_fields = ("old_path", "article__title")
    autocomplete_fields = ("article",)


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = (
        "excerpt",
        "written_by",
        "article",
        "in_reply_to",
        "created_at",
        "status",
        "reply_link",
    )
    list_filter = ("status", "is_author", "imported", "article")
    search_fields = ("body", "author", "commenter__email", "article__title")
    list_select_related = ("article", "parent", "commenter")
    autocomplete_fields = ("article",)
    raw_id_fields = ("parent", "commenter")
    readonly_fields = ("ip_address",)
    actions = ["approve", "hide"]

    @admin.display(description=_("Auteur"), ordering="author")
    def written_by(self, obj):
        if obj.is_author:
            return format_html("{} <em>({})</em>", obj.display_name, _("auteur de l’article"))
        if obj.commenter_id:
            return format_html("{} &lt;{}&gt;", obj.display_name, obj.commenter.email)
        return obj.display_name

    @admin.display(description=_("Commentaire"))
    def excerpt(self, obj):
        return Truncator(obj.body).chars(80)

    @admin.display(description=_("En réponse à"))
    def in_reply_to(self, obj):
        return obj.parent.display_name if obj.parent else "—"

    @admin.display(description=_("Répondre"))
    def reply_link(self, obj):
        url = reverse("admin:articles_comment_add") + f"?parent={obj.pk}&article={obj.article_id}"
        return format_html('<a href="{}">{}</a>', url, _("Répondre"))

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("author", request.user.get_full_name() or request.user.get_username())
        initial.setdefault("status", CommentStatus.APPROVED)
        initial.setdefault("is_author", True)
        return initial

    def save_model(self, request, obj, form, change):
        if not change and obj.parent_id:
            # A reply from the editor goes through the service: approved, placed after the others.
            reply = services.comment_reply(parent=obj.parent, author=obj.author, body=obj.body)
            obj.pk = reply.pk
            obj.position = reply.position
            return
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Approuver (afficher sous l’article)"))
    def approve(self, request, queryset):
        count = services.comments_set_status(comments=list(queryset), status=CommentStatus.APPROVED)
        self.message_user(
            request,
            ngettext("%(count)d commentaire approuvé.", "%(count)d commentaires approuvés.", count)
            % {"count": count},
        )

    @admin.action(description=_("Masquer (ne plus afficher sous l’article)"))
    def hide(self, request, queryset):
        count = services.comments_set_status(comments=list(queryset), status=CommentStatus.HIDDEN)
        self.message_user(
            request,
            ngettext("%(count)d commentaire masqué.", "%(count)d commentaires masqués.", count)
            % {"count": count},
        )


@admin.register(CommentSettings)
class CommentSettingsAdmin(admin.ModelAdmin):
    """One row: the list opens it straight away."""

    readonly_fields = ("digest_sent_at",)

    def has_add_permission(self, request):
        return not CommentSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        from django.shortcuts import redirect

        settings = CommentSettings.load()
        return redirect("admin:articles_commentsettings_change", settings.pk)


@admin.register(Commenter)
class CommenterAdmin(admin.ModelAdmin):
    list_display = ("email", "name", "confirmed_at", "created_at")
    search_fields = ("email", "name")
    list_filter = (("confirmed_at", admin.EmptyFieldListFilter),)


from . import admin_import  # noqa: E402, F401 (the « Importer » page registers itself)
