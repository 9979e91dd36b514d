"""Benchmark: a WordPress export of 1,000 posts and 5,000 threaded comments (budget
30 s), and the importer's memory, which must not grow with the export's size: the peak
(tracemalloc) for 1,000 posts is printed next to the peak for 200 posts, measured in
the same run. Figures are printed, not asserted (no wall-clock assertion in tests)."""

import io
import time
import tracemalloc
from pathlib import Path

import pytest

from articles.models import Article, Comment

from . import report

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

HEADER = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>Blog</title><link>https://blog.exemple-wp.fr</link>
<wp:author><wp:author_login><![CDATA[selma]]></wp:author_login><wp:author_email><![CDATA[s@exemple-wp.fr]]></wp:author_email><wp:author_display_name><![CDATA[Selma]]></wp:author_display_name></wp:author>
"""
PARAGRAPH = (
    "Écouter ses clients, c’est la base : « qu’est-ce qui vous empêche de dormir ? » "
    "Leurs réponses valent mieux que vos intuitions. "
) * 4


def write_export(path: Path, posts: int, comments_per_post: int = 5) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(posts):
            comments = "".join(
                f"<wp:comment><wp:comment_id>{n * 10 + c + 1}</wp:comment_id>"
                f"<wp:comment_author><![CDATA[Lecteur {c}]]></wp:comment_author>"
                f"<wp:comment_author_email><![CDATA[l{c}@exemple-lecteurs.fr]]></wp:comment_author_email>"
                f"<wp:comment_date_gmt><![CDATA[2016-01-0{c + 1} 10:00:00]]></wp:comment_date_gmt>"
                f"<wp:comment_content><![CDATA[Merci pour l’article {n}, commentaire {c}.]]></wp:comment_content>"
                f"<wp:comment_approved><![CDATA[1]]></wp:comment_approved>"
                f"<wp:comment_type><![CDATA[comment]]></wp:comment_type>"
                f"<wp:comment_parent>{n * 10 + c if c % 2 else 0}</wp:comment_parent></wp:comment>"
                for c in range(comments_per_post)
            )
            body = "\n\n".join([PARAGRAPH] * 6)
            out.write(
                f"<item><title><![CDATA[Article n° {n}]]></title>"
                f"<link>https://blog.exemple-wp.fr/2016/01/01/article-{n}/</link>"
                f"<dc:creator><![CDATA[selma]]></dc:creator>"
                f'<guid isPermaLink="false">https://blog.exemple-wp.fr/?p={n + 100}</guid>'
                f"<content:encoded><![CDATA[{body}]]></content:encoded>"
                f"<wp:post_id>{n + 100}</wp:post_id>"
                f"<wp:post_date_gmt><![CDATA[2016-01-01 10:00:00]]></wp:post_date_gmt>"
                f"<wp:post_name><![CDATA[article-{n}]]></wp:post_name>"
                f"<wp:status><![CDATA[publish]]></wp:status><wp:post_type><![CDATA[post]]></wp:post_type>"
                f'<category domain="category" nicename="c{n % 10}"><![CDATA[Catégorie {n % 10}]]></category>'
                f"{comments}</item>\n"
            )
        out.write("</channel></rss>\n")
    return path


def parse_peak(path: Path) -> tuple[float, int]:
    """Reading the whole export (every item parsed, no database): seconds, peak bytes."""
    from articles.importers import wxr

    tracemalloc.start()
    started = time.perf_counter()
    count = sum(1 for item in wxr.iter_items(path, notes=[]) if item.parse())
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count
    return elapsed, peak


def test_wxr_of_a_thousand_posts_and_five_thousand_comments(tmp_path):
    from django.core.management import call_command

    small = write_export(tmp_path / "small.xml", 200)
    big = write_export(tmp_path / "big.xml", 1000)
    small_time, small_peak = parse_peak(small)
    big_time, big_peak = parse_peak(big)

    started = time.perf_counter()
    call_command("import_articles", str(big), stdout=io.StringIO())
    elapsed = time.perf_counter() - started
    assert Article.objects.count() == 1000 and Comment.objects.count() == 5000

    started = time.perf_counter()
    call_command("import_articles", str(big), stdout=io.StringIO())
    again = time.perf_counter() - started
    size = big.stat().st_size / 2**20
    print()
    print(
        f"WXR import, 1,000 posts + 5,000 comments ({size:.1f} MB): {elapsed:.2f} s "
        f"({1000 / elapsed:.0f} posts/s; budget 30 s); re-import, nothing changed: {again:.2f} s"
    )
    print(
        f"  reading only (no database): 1,000 posts {big_time:.2f} s, 200 posts {small_time:.2f} s"
    )
    print(
        f"  peak memory while reading: 1,000 posts {big_peak / 2**20:.2f} MiB, "
        f"baseline 200 posts {small_peak / 2**20:.2f} MiB (ratio {big_peak / small_peak:.2f}; "
        "flat is about 1, proportional would be 5)"
    )
    report.record(
        "import.wxr",
        "WXR import, 1,000 posts + 5,000 comments",
        elapsed,
        "s",
        big_time,
        "reading only",
        "< 30",
    )
    report.record(
        "import.wxr_peak",
        "WXR reading, peak memory (tracemalloc), 1,000 posts",
        big_peak / 2**20,
        "MiB",
        small_peak / 2**20,
        "200 posts",
    )
