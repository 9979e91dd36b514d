"""Turn an exported document (front matter + Markdown, or a scraped page) into article data.

Pure functions, no database: `parse_document(raw_bytes)` returns a `ParsedDocument`
or raises `DocumentError` with a French message for the editor.
"""

import datetime as dt
import re

import ftfy
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from ftfy.badness import is_bad

from signups.pages import list_url

from ..rendering import cut_at_word, squash
from .base import (
    DocumentError,
    ParsedComment,
    ParsedDocument,
    clean_title,
    content_hash,
    site_path,
    web_link,
)
from .frontmatter import (
    OTHER_DATE_KEYS,
    as_bool,
    as_list,
    as_words,
    contains_address,
    date_from_name,
    display_name,
    load_front_matter,
    parse_date_value,
    split_front_matter,
)
from .scraped import _BULLET, is_chrome, parse_comments, plain_text_to_markdown, split_comments

KNOWN_KEYS = {
    "title",
    "description",
    "date",
    "author",
    "categories",
    "category",
    "published",
    "status",
    "permalink",
    "redirect_from",
    "canonical_link",
    "image",
    "slug",
    "draft",
    "tags",
    "authors",
    "excerpt",
    "excerpt_separator",
    "canonical_url",
    "summary",
    "aliases",
}
PUBLISHED_STATUSES = ("published", "publish", "publié", "publie")
TITLE_MAX = 120
SHORT_LINE = 100

WORKSHOP_PHRASE = "comment lire dans les pensées de ses clients"


# --- decoding and text repair ----------------------------------------------------

# A 4-byte UTF-8 sequence (emoji) read as Windows-1252 (or its Turkish sibling,
# which gives "ğ" for 0xF0): "ğŸ‘" + a lost byte. Bytes 0x81, 0x8D, 0x8F, 0x90, 0x9D
# have no Windows-1252 character, so such sequences are often truncated.
_CP1252_CONT = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ\xa0¡¢£¤¥¦§¨©ª«¬\xad®¯°±²³´µ¶·¸¹º»¼½¾¿"
_EMOJI_MOJIBAKE = re.compile(f"[ðğ][{_CP1252_CONT}]{{1,3}}")


def _emoji_bytes(fragment: str) -> bytes | None:
    try:
        return b"\xf0" + fragment[1:].encode("cp1252")
    except UnicodeEncodeError:
        return None


def _fix_emoji(match: re.Match) -> str:
    raw = _emoji_bytes(match.group(0))
    if raw and len(raw) == 4:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return "\x00"  # marker: removed below with the space before it


def repair_text(text: str) -> tuple[str, list[str]]:
    """Undo mojibake, keeping French typography (’ « » and non-breaking spaces)."""
    warnings = []
    if not is_bad(text):  # ftfy's own quick test: most documents need no repair
        return text, warnings
    if _EMOJI_MOJIBAKE.search(text) and ("Ã" in text or "â€" in text):
        text = _EMOJI_MOJIBAKE.sub(_fix_emoji, text)
        if "\x00" in text:
            text = re.sub(r"[ \t\xa0]*\x00", "", text)
            warnings.append(_("Caractères irrécupérables supprimés (émojis abîmés)."))
        # "”" is E2 80 9D and 0x9D has no Windows-1252 character: that byte was lost,
        # leaving "â€" before ordinary text. Put it back so the sequence decodes.
        text = re.sub(f"â€(?![{_CP1252_CONT}])", "â€\x9d", text)
    fixed = ftfy.fix_text(
        text,
        uncurl_quotes=False,
        fix_latin_ligatures=False,
        fix_character_width=False,
        normalization="NFC",
    )
    if fixed != text and ("Ã" in text or "â€" in text):
        warnings.append(_("Texte mal encodé réparé (UTF-8 lu comme Windows-1252)."))
    return fixed, warnings


def decode(raw: bytes) -> str:
    if not raw.strip():
        raise DocumentError(_("Le fichier est vide."))
    if b"\x00" in raw[:8192]:
        raise DocumentError(_("Le fichier est binaire, pas un texte : rien n’a été importé."))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            _(
                "Le fichier n’est pas encodé en UTF-8 (octet invalide à la position %(position)s) : "
                "enregistrez-le en UTF-8 puis relancez l’import."
            )
            % {"position": exc.start}
        ) from exc
    if sum(1 for c in text[:4096] if c < " " and c not in "\n\r\t\f") > 8:
        raise DocumentError(_("Le fichier est binaire, pas un texte : rien n’a été importé."))
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --- titles, links ----------------------------------------------------------------


def _plain(text: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_`]+", "", text)
    return squash(text)


def title_from_text(body: str) -> tuple[str, str]:
    """(title, body): a heading or short first line is the title (and leaves the body);
    otherwise the first sentence, cut at a word."""
    lines = body.strip("\n").split("\n")
    first = lines[0].strip() if lines else ""
    heading = re.match(r"^#{1,6}\s+(.*?)\s*#*$", first)
    if heading:
        return _plain(heading.group(1))[:TITLE_MAX], "\n".join(lines[1:]).lstrip("\n")
    if first and len(first) <= SHORT_LINE:
        return _plain(first), "\n".join(lines[1:]).lstrip("\n")
    sentence = re.split(r"(?<=[.!?…])\s", _plain(first), maxsplit=1)[0].rstrip(".")
    return cut_at_word(sentence, TITLE_MAX), body


def link_invitations(body: str) -> str:
    """Invitations to the workshop and to the interviews point to our own signup pages."""
    workshop = list_url("atelier")
    interviews = list_url("entretiens")
    lines = body.split("\n")
    for index, line in enumerate(lines):
        normalised = line.replace("“", "« ").replace("”", " »").replace("’", "'").lower()
        normalised = " ".join(normalised.split())
        if WORKSHOP_PHRASE.replace("’", "'") in normalised:
            if re.search(r"\]\([^)]*\)", line):
                lines[index] = re.sub(r"\]\([^)]*\)", f"]({workshop})", line)
            else:
                text = line.strip()
                lines[index] = f"[{text}]({workshop})"
    body = "\n".join(lines)
    match = re.search(r"inscrivez-vous\s+juste\s+\[([^\]]+)\]\(([^)\s]+)\)", body, re.I)
    if match:
        old = match.group(2)
        body = body.replace(f"]({old})", f"]({interviews})")
    else:
        body = re.sub(
            r"(inscrivez-vous\s+juste\s+)(ici)\b", rf"\1[\2]({interviews})", body, flags=re.I
        )
    return body


# --- the whole document -----------------------------------------------------------


def parse_document(raw: bytes, *, name: str = "") -> ParsedDocument:
    """One Markdown/front-matter file or scraped page; `name` is its path in the export
    (Jekyll dates posts by their file name)."""
    text, warnings = repair_text(decode(raw))
    block, body, kind = split_front_matter(text)
    meta = load_front_matter(block, kind) if block is not None else {}
    comments: list[ParsedComment] = []
    if block is None:
        body, comments = _scraped_page(body, warnings)
    # A non-breaking space after "#" (word processors insert them) still makes a heading.
    body = re.sub(r"(?m)^([ \t]{0,3}#{1,6})\xa0+", r"\1 ", body)
    title = clean_title(meta.get("title"))
    if not title:
        title, body = title_from_text(body)
        if not title:
            raise DocumentError(_("Impossible de trouver un titre : le texte est vide."))
    body = link_invitations(body.strip("\n") + "\n")
    published_at, undated = _date(meta, name, warnings)
    author = display_name(meta.get("author", meta.get("authors")))
    if contains_address(meta.get("author", meta.get("authors", ""))):
        warnings.append(_("Adresse e-mail de l’auteur écartée : seul son nom est affiché."))
    categories = as_words(meta.get("categories")) + as_list(meta.get("category"))
    return ParsedDocument(
        title=squash(title)[:200],
        body=body,
        content_hash=content_hash(raw),
        description=_description(meta, body),
        published_at=published_at,
        undated=undated,
        author=author[:120],
        categories=list(dict.fromkeys(clean_title(c) for c in categories)),
        tags=list(dict.fromkeys(clean_title(t) for t in as_words(meta.get("tags")))),
        published=_published(meta) and "_drafts/" not in name.replace("\\", "/"),
        permalink=site_path(meta.get("permalink"), "permalink", warnings),
        redirect_from=[
            path
            for path in (
                site_path(p, "redirect_from", warnings)
                for p in as_list(meta.get("redirect_from")) + as_list(meta.get("aliases"))
            )
            if path
        ],
        canonical_link=web_link(meta.get("canonical_link", meta.get("canonical_url")), warnings),
        image=str(meta.get("image") or "").strip(),
        slug=str(meta.get("slug") or "").strip(),
        extra={key: _jsonable(value) for key, value in meta.items() if key not in KNOWN_KEYS},
        comments=comments,
        warnings=warnings,
    )


def _scraped_page(body: str, warnings: list[str]) -> tuple[str, list[ParsedComment]]:
    lines = body.split("\n")
    while lines and (not lines[0].strip() or is_chrome(lines[0])):
        lines.pop(0)
    article_lines, comment_lines, announced = split_comments(lines)
    article_lines = [line for line in article_lines if not is_chrome(line)]
    if any(_BULLET.match(line) for line in article_lines) or comment_lines:
        body = plain_text_to_markdown(article_lines)
    else:
        body = "\n".join(article_lines)
    comments = parse_comments(comment_lines)
    if announced is not None and announced != len(comments):
        warnings.append(
            _("La page annonce %(announced)s commentaires ; %(found)s figurent dans le fichier.")
            % {"announced": announced, "found": len(comments)}
        )
    return body, comments


def _published(meta: dict) -> bool:
    published = as_bool(meta["published"]) if "published" in meta else True
    if "draft" in meta and as_bool(meta["draft"]) and meta["draft"] not in ("", None):
        published = False
    status = meta.get("status")
    if status is not None:
        published = published and str(status).strip().lower() in PUBLISHED_STATUSES
    return published


def _date(meta: dict, name: str, warnings: list[str]) -> tuple[dt.datetime | None, bool]:
    """The front matter's date, else another date field, else the file name (Jekyll's
    `YYYY-MM-DD-slug`), else undated (never today's date)."""
    if meta.get("date") not in (None, ""):
        return parse_date_value(meta["date"]), False
    for key in OTHER_DATE_KEYS:
        if meta.get(key) not in (None, ""):
            try:
                return parse_date_value(meta[key]), False
            except DocumentError:
                continue
    if day := date_from_name(name):
        return day, False
    warnings.append(
        _(
            "Non daté : ni l’en-tête ni le nom du fichier ne donnent de date ; l’article est "
            "affiché « non daté », après les articles datés. Indiquez sa date dans l’admin."
        )
    )
    return None, True


def _description(meta: dict, body: str) -> str:
    """`description`, else Jekyll's `excerpt`, else the text before `excerpt_separator`."""
    for key in ("description", "excerpt", "summary"):
        if meta.get(key):
            return squash(clean_title(strip_tags(str(meta[key]))))
    separator = str(meta.get("excerpt_separator") or "")
    if separator and separator in body:
        from ..rendering import excerpt, render_markdown

        return excerpt(render_markdown(body.split(separator, 1)[0])[0], length=300)
    return ""


def _jsonable(value):
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str):
        return value.replace("\x00", "")
    if value is None or isinstance(value, int | float | bool):
        return value
    return str(value)
