import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import (
    Http404,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, render
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import strip_tags
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from config.form_posts import form_post
from config.links import absolute
from config.origin import origin_checked
from signups import tokens
from signups.ratelimit import client_ip

from . import commenting
from .cache import cached_page
from .forms import CommentForm, SearchForm
from .models import Article, Category, Comment, CommentStatus, Redirect
from .rendering import image_available, media_src

PER_PAGE = 10
HOME_COUNT = 6


def _listing():
    return (
        Article.objects.published()
        .defer("body", "body_html", "search_vector")
        .prefetch_related(
            Prefetch("categories", queryset=Category.objects.visible().order_by("name"))
        )
    )


@require_safe
@cached_page
def home(request):
    articles = list(_listing()[:HOME_COUNT])
    return render(request, "articles/home.html", {"articles": articles})


def _page(request, articles, query: str = ""):
    """The listing's page that `?page=` names. A number past the last page (or below 1)
    shows the last page, as `Paginator.get_page` does, but through a redirect to its own
    address: `?page=99999`, `?page=-1`... never render and store one more copy of it."""
    page = Paginator(articles, PER_PAGE).get_page(request.GET.get("page"))
    try:
        asked = int(request.GET.get("page", ""))
    except ValueError:  # not a number: page 1, the page cached without the parameter
        return page, None
    if asked == page.number:
        return page, None
    params = {"q": query, "page": page.number} if query else {"page": page.number}
    response = HttpResponseRedirect(f"{request.path}?{urlencode(params)}")
    add_never_cache_headers(response)
    return page, response


def _search_query(value: str, view_kwargs=None) -> str | None:
    """`?q=` as the listing searches it: stripped, None when empty or invalid. The page
    shows only this (the cache keys on it: `?q=%20%20` is page 1, `?q=clients%20` the
    page of `?q=clients`, never one more copy)."""
    form = SearchForm({"q": value})
    return (form.cleaned_data["q"].strip() or None) if form.is_valid() else None


@require_safe
@cached_page(reads=("page", "q"), normalise={"q": _search_query})
def index(request):
    query = _search_query(request.GET.get("q", "")) or ""
    form = SearchForm({"q": query})
    articles = _listing().search(query) if query else _listing()
    page, elsewhere = _page(request, articles, query)
    if elsewhere:
        return elsewhere
    return render(request, "articles/index.html", {"page": page, "form": form, "query": query})


@require_safe
@cached_page(reads=("page",))
def category(request, slug):
    category = get_object_or_404(Category.objects.visible(), slug=slug)
    page, elsewhere = _page(request, _listing().filter(categories=category))
    if elsewhere:
        return elsewhere
    return render(request, "articles/category.html", {"category": category, "page": page})


def reply_id(value: str) -> int | None:
    """The comment id `?reponse=` names: ASCII digits of a positive id, else None."""
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return int(value) or None


def _reply_param(value: str, view_kwargs: dict) -> str | None:
    """`?reponse=` as the page acts on it: the id of a comment shown under that article
    (where comments are open), else nothing, so that unknown and garbage values are
    served the page without it and never stored as one more copy."""
    pk = reply_id(value)
    if pk is None:
        return None
    shown = Comment.objects.visible().filter(pk=pk, article__comments_open=True)
    if "slug" in view_kwargs:
        shown = shown.filter(article__slug=view_kwargs["slug"])
    else:
        wanted = "/" + view_kwargs.get("path", "").strip("/")
        shown = shown.filter(article__permalink__in=[wanted, wanted + "/"])
    return str(pk) if shown.exists() else None


_REPLY = {"reponse": _reply_param}


@require_safe
@cached_page(reads=("reponse",), normalise=_REPLY)  # the comment a reader answers
def detail(request, slug):
    article = Article.objects.published().filter(slug=slug).first()
    if article is None:
        old = Redirect.objects.select_related("article").filter(old_path=request.path).first()
        if old and old.article.is_live:
            return HttpResponsePermanentRedirect(old.article.get_absolute_url())
        raise Http404(_("Cet article n’existe pas ou n’est pas encore publié."))
    if article.permalink:
        return HttpResponsePermanentRedirect(article.permalink)
    return _render_article(request, article)


@require_safe
@cached_page(reads=("reponse",), normalise=_REPLY)
def by_path(request, path):
    """Catch-all, matched after every other app: custom permalinks and old addresses."""
    wanted = "/" + path.strip("/")
    article = Article.objects.published().filter(permalink__in=[wanted, wanted + "/"]).first()
    if article:
        if request.path != article.permalink:
            return HttpResponsePermanentRedirect(article.permalink)
        return _render_article(request, article)
    old = (
        Redirect.objects.select_related("article")
        .filter(old_path__in=[wanted, wanted + "/"])
        .first()
    )
    if old and old.article.is_live:
        return HttpResponsePermanentRedirect(old.article.get_absolute_url())
    if settings.APPEND_SLASH and not request.path.endswith("/"):
        # This route matches everything, so CommonMiddleware's APPEND_SLASH never
        # triggers: do its job for the other pages (/newsletter -> /newsletter/).
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match and match.func is not by_path:
            query = request.META.get("QUERY_STRING")
            response = HttpResponsePermanentRedirect(
                request.path + "/" + (f"?{query}" if query else "")
            )
            add_never_cache_headers(response)  # it carries the whole query: never cached
            return response
    raise Http404(_("Page introuvable."))


def _comment_tree(article):
    """Approved comments, replies nested under their parent, in their original order."""
    comments = list(article.comments.visible().order_by("position", "pk"))
    children: dict = {}
    for comment in comments:
        children.setdefault(comment.parent_id, []).append(comment)
    visible_ids = {c.pk for c in comments}
    for comment in comments:
        comment.children = children.get(comment.pk, [])
    roots = [c for c in comments if c.parent_id is None or c.parent_id not in visible_ids]
    return roots, len(comments)


def _json_ld(data: dict) -> str:
    text = json.dumps(data, ensure_ascii=False)
    return mark_safe(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))  # noqa: S308


def _comment_form(request, article, form=None):
    """The comment form, answering the comment named by `?reponse=` when it is shown."""
    if form is not None or not article.pk or not article.comments_open:
        return form, getattr(form, "cleaned_data", {}).get("parent") if form else None
    parent = None
    wanted = reply_id(request.GET.get("reponse", ""))
    if wanted is not None:
        parent = article.comments.visible().filter(pk=wanted).first()
    initial = {"parent": parent.pk} if parent else {}
    return CommentForm(article=article, initial=initial), parent


def _render_article(
    request, article, *, preview=False, categories=None, comment_form=None, status=200
):
    if categories is None:
        categories = list(article.categories.visible().order_by("name"))
    roots, comment_count = _comment_tree(article) if article.pk else ([], 0)
    url = absolute(article.get_absolute_url()) if article.slug else settings.SITE_URL
    canonical = article.canonical_link or url
    image = (
        absolute(media_src(article.image))
        if article.image and image_available(article.image)
        else ""
    )
    json_ld = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": article.title,
        "description": article.description,
        "inLanguage": "fr",
        "url": url,
        "mainEntityOfPage": canonical,
        "wordCount": len(strip_tags(article.body_html).split()),
        "articleSection": [c.name for c in categories],
        "publisher": {
            "@type": "Organization",
            "name": settings.SITE_NAME,
            "url": settings.SITE_URL,
        },
        "commentCount": comment_count,
    }
    if article.published_at:
        json_ld["datePublished"] = article.published_at.isoformat()
        json_ld["dateModified"] = (article.updated_at or article.published_at).isoformat()
    if article.author:
        json_ld["author"] = {"@type": "Person", "name": article.author}
    if image:
        json_ld["image"] = image
    comment_form, replying_to = _comment_form(request, article, comment_form)
    if comment_form is not None and replying_to is None and comment_form.is_bound:
        pk = str(comment_form.data.get("parent") or "")
        replying_to = next((c for c in _walk(roots) if str(c.pk) == pk), None)
    return render(
        request,
        "articles/detail.html",
        {
            "article": article,
            "comment_form": comment_form,
            "replying_to": replying_to,
            "categories": categories,
            "comments": roots,
            "comment_count": comment_count,
            "canonical": canonical,
            "page_url": url,
            "og_image": image,
            "json_ld": _json_ld(json_ld),
            "preview": preview,
        },
        status=status,
    )


def _walk(comments):
    for comment in comments:
        yield comment
        yield from _walk(comment.children)


@origin_checked  # the form is on cached article pages: no token (config/origin.py)
@form_post(csrf=False)
@require_POST
def comment_post(request, slug):
    """A reader's comment: errors next to their field, else back to the article."""
    article = get_object_or_404(Article.objects.published(), slug=slug)
    if not article.comments_open:
        messages.error(request, _("Les commentaires sont fermés pour cet article."))
        return HttpResponseRedirect(article.get_absolute_url() + "#commentaires", status=303)
    form = CommentForm(request.POST, article=article)
    if form.is_bot:
        messages.success(request, _("Merci ! Votre commentaire est bien reçu."))
        return HttpResponseRedirect(article.get_absolute_url() + "#commenter", status=303)
    if not form.is_valid():
        return _render_article(request, article, comment_form=form)
    data = form.cleaned_data
    wait = commenting.comment_retry_after(ip=client_ip(request), email=data["email"])
    if wait:
        form.add_error(
            None,
            _(
                "Vous avez envoyé beaucoup de commentaires en peu de temps. "
                "Réessayez dans %(minutes)d minutes."
            )
            % {"minutes": max(1, round(wait / 60))},
        )
        response = _render_article(request, article, comment_form=form, status=429)
        response["Retry-After"] = str(wait)
        return response
    comment = commenting.comment_submit(
        article=article,
        name=data["name"],
        email=data["email"],
        body=data["body"],
        parent=data["parent"],
        ip_address=client_ip(request),
    )
    anchor = "#commenter"
    if comment.status == CommentStatus.UNCONFIRMED:
        messages.success(
            request,
            _(
                "Merci ! Pour publier votre commentaire, ouvrez le lien que nous venons "
                "d’envoyer à %(email)s (une seule fois : ensuite, votre adresse est reconnue)."
            )
            % {"email": data["email"]},
        )
    elif comment.status == CommentStatus.PENDING:
        messages.success(
            request, _("Merci ! Votre commentaire sera publié dès que l’auteur l’aura lu.")
        )
    else:
        messages.success(request, _("Merci ! Votre commentaire est publié."))
        anchor = f"#commentaire-{comment.pk}"
    return HttpResponseRedirect(article.get_absolute_url() + anchor, status=303)


@never_cache
@form_post()
@require_http_methods(["GET", "POST"])
def comment_confirm(request, token):
    """GET shows one button (mail scanners follow links); only the POST confirms."""
    try:
        if request.method == "POST":
            comment = commenting.comment_confirm_token(token=token)
            return render(request, "articles/comment_confirmed.html", {"comment": comment})
        comment = commenting.comment_for_confirm_token(token)
    except tokens.InvalidToken as exc:
        expired = isinstance(exc, tokens.ExpiredToken)
        return render(request, "signups/link_invalid.html", {"expired": expired}, status=400)
    except commenting.CommentLinkUsed as used:
        return render(
            request,
            "articles/comment_confirmed.html",
            {"comment": used.comment, "already": True},
        )
    return render(request, "articles/comment_confirm.html", {"comment": comment})


@require_safe
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /commentaires/",
        "Disallow: /confirmer/",
        "Disallow: /desinscription/",
        "Disallow: /preferences/",
        f"Sitemap: {absolute(reverse('articles:sitemap'))}",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


@require_safe
def media(request, path):
    """Article images under MEDIA_ROOT, when no reverse proxy serves them (development)."""
    from django.views.static import serve

    return serve(request, path, document_root=settings.MEDIA_ROOT)
