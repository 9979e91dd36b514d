"""French typography as Chromium shows it: on every public page, no ordinary space
before ; : ! ? » or after « in the text a reader sees."""

import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from articles.models import Article, Category
from signups.bootstrap import create_lists

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# innerText keeps no-break spaces as they are; smileys (« :-) ») are not punctuation.
BAD_SPACE = re.compile(r" (?=[!?»]|[;:](?!-?[()DPp]))|«(?= )")


def test_every_public_page_reads_with_french_spacing(page, live_server, settings):
    create_lists(stdout=io.StringIO())
    call_command("import_articles", str(settings.BASE_DIR / "seeds" / "articles"), verbosity=0)
    paths = ["/", "/articles/", "/articles/?q=clientele", "/page-inexistante/"]
    paths += [a.get_absolute_url() for a in Article.objects.published()]
    paths += [c.get_absolute_url() for c in Category.objects.all()]
    paths += ["/newsletter/", "/atelier/", "/entretiens/"]
    paths += [reverse("signups:thanks", args=[slug]) for slug in ("newsletter", "atelier")]
    found = {}
    for path in paths:
        page.goto(live_server.url + path)
        text = page.evaluate("() => document.title + '\\n' + document.body.innerText")
        bad = [text[max(0, m.start() - 30) : m.end() + 5] for m in BAD_SPACE.finditer(text)]
        if bad:
            found[path] = bad[:3]
    assert not found, found
    # The check sees what it should: the seed's « passion? » is typeset.
    page.goto(
        live_server.url + Article.objects.get(slug="vivre-de-sa-passion-ah-non").get_absolute_url()
    )
    assert page.locator("h1").inner_text() == "Vivre de sa passion\u202f? Ah non\u202f!"
