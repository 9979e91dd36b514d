from django.conf import settings
from django.contrib.sitemaps.views import sitemap
from django.urls import path, re_path

from . import views
from .cache import cached_page
from .feeds import LatestArticlesAtom, LatestArticlesRss
from .sitemaps import SITEMAPS

app_name = "articles"
urlpatterns = [
    path("", views.home, name="home"),
    path("articles/", views.index, name="index"),
    path("articles/<slug:slug>/", views.detail, name="detail"),
    path("articles/<slug:slug>/commenter/", views.comment_post, name="comment_post"),
    path("commentaires/confirmer/<str:token>/", views.comment_confirm, name="comment_confirm"),
    path("categories/<slug:slug>/", views.category, name="category"),
    path("flux/atom/", cached_page(LatestArticlesAtom()), name="feed_atom"),
    path("flux/rss/", cached_page(LatestArticlesRss()), name="feed_rss"),
    path("sitemap.xml", cached_page(sitemap, reads=("p",)), {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", views.robots_txt, name="robots"),
    # Without a reverse proxy (development, `make run`), article images under MEDIA_ROOT
    # are served here; in production the proxy serves /media/ (see the README).
    *([] if settings.PRODUCTION else [re_path(r"^media/(?P<path>.+)$", views.media, name="media")]),
    # Last: custom permalinks (/ce-serait-bien-si) and old addresses that answer 301.
    re_path(r"^(?P<path>(?!admin/|static/|media/).+)$", views.by_path, name="by_path"),
]
