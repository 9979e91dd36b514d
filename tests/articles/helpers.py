"""Small checks shared by the articles tests."""

from html.parser import HTMLParser

from articles.models import Article, Status

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class WellFormedChecker(HTMLParser):
    """Every element is closed, in order (void elements excepted); one <html>, <head>, <body>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, tuple]] = []
        self.errors: list[str] = []
        self.seen: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        self.seen[tag] = self.seen.get(tag, 0) + 1
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        self.seen[tag] = self.seen.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if tag in VOID:
            self.errors.append(f"closing void element </{tag}> at {self.getpos()}")
            return
        if not self.stack or self.stack[-1][0] != tag:
            expected = self.stack[-1] if self.stack else None
            self.errors.append(f"</{tag}> at {self.getpos()} but open element is {expected}")
            return
        self.stack.pop()


def assert_well_formed(html: str) -> None:
    assert html.lstrip().lower().startswith("<!doctype html>")
    checker = WellFormedChecker()
    checker.feed(html)
    checker.close()
    assert checker.errors == []
    assert checker.stack == [], f"unclosed elements: {checker.stack}"
    for tag in ("html", "head", "body", "title", "main", "h1"):
        assert checker.seen.get(tag) == 1, f"expected exactly one <{tag}>"


def make_article(**fields) -> Article:
    from django.utils import timezone

    defaults = {
        "title": "Un article d’essai",
        "slug": "un-article-dessai",
        "body": "Premier paragraphe de l’article.\n\nDeuxième paragraphe.",
        "status": Status.PUBLISHED,
        "published_at": timezone.now(),
    }
    defaults.update(fields)
    return Article.objects.create(**defaults)
