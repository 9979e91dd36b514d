"""An embedded player kept in an article is also allowed by the page's policy, and
imported images from the platforms' CDNs are not blocked."""

import pytest

from .helpers import make_article

pytestmark = pytest.mark.django_db


def test_kept_embeds_and_remote_images_are_allowed_by_the_policy(client):
    article = make_article(
        body='<iframe src="https://player.vimeo.com/video/1"></iframe>\n\n'
        "![Carnet](https://cdn-images-1.medium.com/max/800/1*AbCdEf.png)\n"
    )
    response = client.get(article.get_absolute_url())
    html = response.content.decode()
    assert '<iframe src="https://player.vimeo.com/video/1"' in html
    policy = response["Content-Security-Policy"]
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()
    )
    assert "https://player.vimeo.com" in directives["frame-src"]
    assert "https:" in directives["img-src"]
    assert "'self'" in directives["script-src"] and "https:" not in directives["script-src"]
