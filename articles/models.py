"""Articles, their categories, reader comments and the old addresses that redirect to them."""

import math
import re
import unicodedata

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Func, Q, Value
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _

from .validators import validate_site_path, validate_web_url

WORDS_PER_MINUTE = 200
# PostgreSQL's French text search with accents folded (migration 0006).
SEARCH_CONFIG = "french_unaccent"


class CategoryQuerySet(models.QuerySet):
    def visible(self):
        return self.filter(hidden=False)


SQLITE_FOLD = "pouls_fold"  # registered on each SQLite connection (apps.py)


def fold_accents(text: str | None) -> str:
    """Lower case without accents or ligatures: « Clientèle » → « clientele »."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKD", text.casefold().replace("œ", "oe").replace("æ", "ae"))
    return "".join(c for c in text if not unicodedata.combining(c))


class Category(models.Model):
    name = models.CharField(_("nom"), max_length=100, unique=True)
    slug = models.SlugField(_("identifiant"), max_length=100, unique=True)
    hidden = models.BooleanField(
        _("masquée"),
        default=False,
        help_text=_(
            "Une catégorie masquée n’est montrée nulle part aux lecteurs (catégories de "
            "remplissage importées, comme « category1 »)."
        ),
    )

    objects = CategoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("catégorie")
        verbose_name_plural = _("catégories")
        ordering = ("name",)

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("articles:category", args=[self.slug])


class Status(models.TextChoices):
    DRAFT = "draft", _("Brouillon")
    PUBLISHED = "published", _("Publié")


class CommentModeration(models.TextChoices):
    SITE = "", _("Comme le réglage du site")
    MODERATE = "moderate", _("Relire chaque commentaire avant publication")
    PUBLISH = "publish", _("Publier aussitôt les commentaires des adresses confirmées")


class ArticleQuerySet(models.QuerySet):
    def published(self, now=None):
        """Visible to readers: published, and its publication date has come (or it is
        an imported article whose date is unknown)."""
        return self.filter(
            Q(published_at__lte=now or timezone.now()) | Q(published_at__isnull=True, undated=True),
            status=Status.PUBLISHED,
        )

    def scheduled(self, now=None):
        return self.filter(status=Status.PUBLISHED, published_at__gt=now or timezone.now())

    def search(self, query: str):
        """French full-text search on PostgreSQL, accents ignored (« clientele » finds
        « clientèle »); elsewhere an accent- and case-insensitive substring match."""
        from django.db import connection

        query = query.strip()
        if not query:
            return self.none()
        if connection.vendor == "postgresql":
            from django.contrib.postgres.search import SearchQuery, SearchRank

            search_query = SearchQuery(query, config=SEARCH_CONFIG, search_type="websearch")
            return (
                self.filter(search_vector=search_query)
                .annotate(rank=SearchRank("search_vector", search_query))
                .order_by("-rank", F("published_at").desc(nulls_last=True))
            )
        if connection.vendor == "sqlite":
            folded = fold_accents(query)
            return self.alias(
                _t=Func("title", function=SQLITE_FOLD),
                _d=Func("description", function=SQLITE_FOLD),
                _b=Func("body", function=SQLITE_FOLD),
            ).filter(Q(_t__contains=folded) | Q(_d__contains=folded) | Q(_b__contains=folded))
        return self.filter(
            Q(title__icontains=query) | Q(description__icontains=query) | Q(body__icontains=query)
        )


class Article(models.Model):
    title = models.CharField(_("titre"), max_length=200)
    slug = models.SlugField(
        _("identifiant dans l’adresse"),
        max_length=200,
        unique=True,
        help_text=_(
            "Apparaît dans l’adresse de l’article (/articles/identifiant/). Si vous le changez, "
            "l’ancienne adresse redirige vers la nouvelle."
        ),
    )
    description = models.TextField(
        _("chapeau"),
        blank=True,
        help_text=_(
            "Une ou deux phrases qui résument l’article : affichées sur l’accueil, dans les "
            "flux et les partages. Laissée vide, elle est tirée du début du texte."
        ),
    )
    body = models.TextField(
        _("texte (Markdown)"),
        help_text=_(
            "Le texte en Markdown (CommonMark). L’aperçu montre la page telle qu’elle sera publiée."
        ),
    )
    body_html = models.TextField(_("texte mis en page"), blank=True, editable=False)
    author = models.CharField(_("auteur"), max_length=120, blank=True)
    categories = models.ManyToManyField(
        Category, verbose_name=_("catégories"), blank=True, related_name="articles"
    )
    status = models.CharField(
        _("état"),
        max_length=10,
        choices=Status.choices,
        default=Status.DRAFT,
        help_text=_(
            "Choisissez « Publié » pour mettre l’article en ligne à sa date de publication."
        ),
    )
    published_at = models.DateTimeField(
        _("date de publication"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_(
            "Un article publié n’apparaît qu’à partir de cette date : mettez une date future "
            "pour programmer sa publication."
        ),
    )
    undated = models.BooleanField(
        _("non daté"),
        default=False,
        help_text=_(
            "Article importé sans date : affiché « non daté », après les articles datés. "
            "Donnez-lui une date de publication pour le dater."
        ),
    )
    permalink = models.CharField(
        _("adresse personnalisée"),
        max_length=300,
        blank=True,
        validators=[validate_site_path],
        help_text=_(
            "Facultatif : une adresse comme /ce-serait-bien-si remplace /articles/identifiant/."
        ),
    )
    canonical_link = models.URLField(
        _("lien canonique"),
        max_length=500,
        blank=True,
        validators=[validate_web_url],
        help_text=_("Si l’article a d’abord paru ailleurs, l’adresse de l’original."),
    )
    image = models.CharField(_("image"), max_length=500, blank=True)
    reading_minutes = models.PositiveIntegerField(
        _("temps de lecture (minutes)"), default=1, editable=False
    )
    extra = models.JSONField(
        _("autres informations"),
        default=dict,
        blank=True,
        help_text=_(
            "Les clés d’en-tête importées que le site n’utilise pas, conservées telles quelles."
        ),
    )
    import_warnings = models.JSONField(
        _("avertissements d’import"), default=list, blank=True, editable=False
    )
    source_path = models.CharField(_("fichier source"), max_length=500, blank=True, editable=False)
    source_hash = models.CharField(
        _("empreinte du fichier"), max_length=64, blank=True, editable=False
    )
    comments_open = models.BooleanField(
        _("commentaires ouverts"),
        default=True,
        help_text=_(
            "Décochez pour fermer les commentaires : ceux qui sont publiés restent visibles, "
            "le formulaire disparaît."
        ),
    )
    comment_moderation = models.CharField(
        _("modération des commentaires"),
        max_length=10,
        choices=CommentModeration.choices,
        default=CommentModeration.SITE,
        blank=True,
        help_text=_(
            "Le premier commentaire d’une adresse attend toujours que son auteur la confirme ; "
            "ce choix vaut pour les suivants."
        ),
    )
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        # Undated articles (no date) come after the dated ones, on every database.
        ordering = (F("published_at").desc(nulls_last=True), "-pk")
        constraints = [
            models.UniqueConstraint(
                fields=["permalink"], condition=~Q(permalink=""), name="article_unique_permalink"
            ),
            models.UniqueConstraint(
                fields=["source_path"], condition=~Q(source_path=""), name="article_unique_source"
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if self.published_at is not None:
            self.undated = False
        if self.status == Status.PUBLISHED and self.published_at is None and not self.undated:
            self.published_at = timezone.now()  # "Publié" without a date: published now
        self.render()
        self.search_vector = self.search_document()
        super().save(*args, **kwargs)
        self.search_vector = None  # the expression was computed by the database

    def get_absolute_url(self):
        return self.permalink or reverse("articles:detail", args=[self.slug])

    def publish(self, at=None):
        """Publish now, or at `at`; the rules live in `services.article_publish`."""
        from .services import article_publish

        return article_publish(article=self, at=at)

    @property
    def is_live(self) -> bool:
        if self.status != Status.PUBLISHED:
            return False
        if self.published_at is None:
            return self.undated
        return self.published_at <= timezone.now()

    def render(self) -> list[str]:
        """Refresh the derived fields from the Markdown source; returns rendering warnings.

        A standfirst that was derived from the text follows the text when it changes;
        one written by the editor stays."""
        from .rendering import excerpt, render_markdown

        if getattr(self, "_rendered_source", None) == self.body:
            return self._render_warnings
        derived = bool(self.body_html) and self.description == excerpt(self.body_html)
        self.body_html, warnings = render_markdown(self.body)
        self._rendered_source, self._render_warnings = self.body, warnings
        words = len(strip_tags(self.body_html).split())
        self.reading_minutes = max(1, math.ceil(words / WORDS_PER_MINUTE))
        if derived or not self.description.strip():
            self.description = excerpt(self.body_html)
        return warnings

    def publishes_comments_at_once(self) -> bool:
        """Whether a comment from a confirmed address skips the editor's review."""
        if self.comment_moderation == CommentModeration.SITE:
            return not CommentSettings.load().moderate_confirmed
        return self.comment_moderation == CommentModeration.PUBLISH

    def search_document(self):
        """The French full-text vector, computed by PostgreSQL in the same INSERT/UPDATE."""
        from django.db import connection

        if connection.vendor != "postgresql":
            return None
        from django.contrib.postgres.search import SearchVector

        def part(text, weight):
            return SearchVector(
                Value(text, output_field=models.TextField()), weight=weight, config=SEARCH_CONFIG
            )

        return part(self.title, "A") + part(self.description, "B") + part(self.body, "C")


class Redirect(models.Model):
    """An old address of an article (a `redirect_from` path or a former slug): answers 301."""

    old_path = models.CharField(
        _("ancienne adresse"), max_length=300, unique=True, validators=[validate_site_path]
    )
    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="redirects"
    )

    class Meta:
        verbose_name = _("redirection")
        verbose_name_plural = _("redirections")

    def __str__(self):
        return self.old_path


# An unnamed imported reply that greets someone by name (« Bonjour Evelyne! ») answers
# a reader: on the scraped blogs we import, only the author's own replies lose their name.
_GREETING = re.compile(r"(?:bonjour|bonsoir|hello|salut|coucou)\s+\w", re.IGNORECASE)


def comment_is_authors_reply(*, author: str, body: str, parent: "Comment | None") -> bool:
    """An imported reply without a name that answers a named reader, or greets one."""
    if author.strip() or parent is None or parent.is_author:
        return False
    return bool(parent.author.strip()) or bool(_GREETING.match(body.strip()))


class CommentSettings(models.Model):
    """The site-wide choices about comments (one row, edited in the admin)."""

    moderate_confirmed = models.BooleanField(
        _("relire aussi les commentaires des adresses confirmées"),
        default=True,
        help_text=_(
            "Coché : chaque commentaire attend votre approbation. Décoché : une fois son "
            "adresse confirmée, un lecteur publie ses commentaires aussitôt. Chaque article "
            "peut faire autrement."
        ),
    )
    digest_enabled = models.BooleanField(
        _("résumé quotidien par e-mail"),
        default=False,
        help_text=_("Un e-mail par jour quand des commentaires attendent votre relecture."),
    )
    digest_to = models.EmailField(
        _("destinataire du résumé"),
        blank=True,
        help_text=_("Laissée vide : l’adresse d’envoi du site."),
    )
    digest_sent_at = models.DateTimeField(
        _("dernier résumé envoyé le"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("réglages des commentaires")
        verbose_name_plural = _("réglages des commentaires")

    def __str__(self):
        return str(_("Réglages des commentaires"))

    @classmethod
    def load(cls) -> "CommentSettings":
        settings, _created = cls.objects.get_or_create(pk=1)
        return settings


class Commenter(models.Model):
    """An address that wrote a comment; its first comment waits until it is confirmed."""

    email = models.EmailField(_("adresse e-mail"), max_length=254, unique=True)
    name = models.CharField(_("nom"), max_length=120, blank=True)
    confirmed_at = models.DateTimeField(_("confirmée le"), null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(
        _("confirmation envoyée le"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("auteur de commentaires")
        verbose_name_plural = _("auteurs de commentaires")

    def __str__(self):
        return self.name or self.email

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class CommentStatus(models.TextChoices):
    UNCONFIRMED = "unconfirmed", _("Adresse à confirmer")
    PENDING = "pending", _("En attente")
    APPROVED = "approved", _("Approuvé")
    HIDDEN = "hidden", _("Masqué")


class CommentQuerySet(models.QuerySet):
    def visible(self):
        return self.filter(status=CommentStatus.APPROVED)

    def awaiting_moderation(self):
        """Confirmed by their writer, waiting for the editor (the dashboard's count)."""
        return self.filter(status=CommentStatus.PENDING)


class Comment(models.Model):
    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="comments"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("en réponse à"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="replies",
    )
    author = models.CharField(_("auteur"), max_length=120, blank=True)
    is_author = models.BooleanField(
        _("réponse de l’auteur"),
        default=False,
        help_text=_("Affiché comme écrit par l’auteur de l’article."),
    )
    commenter = models.ForeignKey(
        Commenter,
        verbose_name=_("adresse"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="comments",
    )
    body = models.TextField(_("commentaire"))
    status = models.CharField(
        _("état"), max_length=12, choices=CommentStatus.choices, default=CommentStatus.PENDING
    )
    position = models.PositiveIntegerField(_("ordre"), default=0)
    imported = models.BooleanField(_("importé"), default=False, editable=False)
    ip_address = models.GenericIPAddressField(
        _("adresse IP"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(
        _("écrit le"),
        default=timezone.now,
        null=True,
        blank=True,
        help_text=_("Vide pour un commentaire importé sans date."),
    )

    objects = CommentQuerySet.as_manager()

    class Meta:
        verbose_name = _("commentaire")
        verbose_name_plural = _("commentaires")
        ordering = ("article", "position", "pk")
        indexes = [models.Index(fields=["status"], name="comment_status")]

    def __str__(self):
        return f"{self.display_name} : {self.body[:60]}"

    @property
    def display_name(self) -> str:
        if self.is_author:
            return self.article.author or settings.SITE_AUTHOR or settings.SITE_NAME
        return self.author or str(_("Anonyme"))


from .jobs import ImportJob  # noqa: E402, F401 (a model of this app, kept in its own module)
