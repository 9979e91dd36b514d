from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from signups.models import MailingList

from .models import Article, Category


class SiteUrlSitemap(Sitemap):
    """Addresses on SITE_URL, whatever host the request came through."""

    @property
    def protocol(self):
        return urlsplit(settings.SITE_URL).scheme

    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc


class ArticleSitemap(SiteUrlSitemap):
    changefreq = "monthly"
    priority = 0.8

    def items(self):
        return Article.objects.published().only("slug", "permalink", "updated_at")

    def lastmod(self, item):
        return item.updated_at


class CategorySitemap(SiteUrlSitemap):
    changefreq = "weekly"
    priority = 0.4

    def items(self):
        return (
            Category.objects.visible().filter(articles__in=Article.objects.published()).distinct()
        )


class PagesSitemap(SiteUrlSitemap):
    changefreq = "daily"
    priority = 1.0

    def items(self):
        return ["articles:home", "articles:index"]

    def location(self, item):
        return reverse(item)


class ListPagesSitemap(SiteUrlSitemap):
    """The open lists' pages the editor left listed (signups.pages)."""

    changefreq = "weekly"
    priority = 0.6

    def items(self):
        return MailingList.objects.filter(is_active=True, is_listed=True).order_by("path")


SITEMAPS = {
    "pages": PagesSitemap,
    "lists": ListPagesSitemap,
    "articles": ArticleSitemap,
    "categories": CategorySitemap,
}
