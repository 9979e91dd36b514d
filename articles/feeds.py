"""Atom and RSS feeds with the full text of each article."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.translation import gettext_lazy as _

from config.links import absolute

from .models import Article

FEED_SIZE = 20


class RssWithContent(Rss201rev2Feed):
    """RSS 2.0 with the full HTML in <content:encoded>."""

    def rss_attributes(self):
        return {
            **super().rss_attributes(),
            "xmlns:content": "http://purl.org/rss/1.0/modules/content/",
        }

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content:encoded", item["content"])


class AtomWithContent(Atom1Feed):
    """Atom with the full HTML in <content type="html">, the excerpt in <summary>."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content", item["content"], {"type": "html"})


class LatestArticlesRss(Feed):
    feed_type = RssWithContent
    title = settings.SITE_NAME
    description = _("Les derniers articles de Pouls : écouter ses clients pour entreprendre juste.")
    language = "fr"
    url_name = "articles:feed_rss"

    def link(self):
        return absolute(reverse("articles:home"))

    def feed_url(self):
        return absolute(reverse(self.url_name))

    def items(self):
        return Article.objects.published().prefetch_related("categories")[:FEED_SIZE]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.description

    def item_author_name(self, item):
        return item.author or None

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_categories(self, item):
        return [c.name for c in item.categories.all() if not c.hidden]

    def item_guid(self, item):
        return absolute(item.get_absolute_url())

    def item_link(self, item):
        return absolute(item.get_absolute_url())

    def item_extra_kwargs(self, item):
        return {"content": item.body_html}


class LatestArticlesAtom(LatestArticlesRss):
    feed_type = AtomWithContent
    url_name = "articles:feed_atom"
    subtitle = LatestArticlesRss.description
