"""Turn an exported document (front matter + Markdown, or a scraped page) into article data.

Pure functions, no database: `parse_document(raw_bytes)` returns a `ParsedDocument`
or raises `DocumentError` with a French message for the editor.
"""

import datetime as dt
import hashlib
import re
import textwrap
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import ftfy
import yaml
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from ftfy.badness import is_bad

from .rendering import cut_at_word, squash
from .validators import site_path_problem, web_url_problem

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
}
TITLE_MAX = 120
SHORT_LINE = 100

WORKSHOP_PHRASE = "comment lire dans les pensées de ses clients"


class DocumentError(Exception):
    """The file cannot be imported; the message is shown to the editor."""


@dataclass
class ParsedComment:
    author: str
    body: str
    depth: int
    parent_index: int | None = None


@dataclass
class ParsedDocument:
    title: str
    body: str
    content_hash: str
    description: str = ""
    published_at: dt.datetime | None = None
    author: str = ""
    categories: list[str] = field(default_factory=list)
    published: bool = True
    permalink: str = ""
    redirect_from: list[str] = field(default_factory=list)
    canonical_link: str = ""
    image: str = ""
    slug: str = ""
    extra: dict = field(default_factory=dict)
    comments: list[ParsedComment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


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


# --- front matter -----------------------------------------------------------------


def split_front_matter(text: str) -> tuple[str | None, str]:
    """YAML between `---` lines; tolerates indented keys and an indented closing marker."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return None, text
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :])
    raise DocumentError(_("L’en-tête YAML commence par « --- » mais ne se termine jamais."))


def load_front_matter(block: str) -> dict:
    # Editors' exports indent every key by a space: dedent the block as a whole.
    block = textwrap.dedent(block)
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = _(" (ligne %(line)s)") % {"line": mark.line + 2} if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError(
            _("L’en-tête YAML est invalide%(where)s : %(problem)s.")
            % {"where": where, "problem": problem}
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DocumentError(_("L’en-tête YAML doit être une liste de clés « clé: valeur »."))
    return data


def parse_date_value(value) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime.combine(value, dt.time())
    else:
        text = str(value).strip()
        result = parse_datetime(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        if result is None:
            day = parse_date(text)
            result = dt.datetime.combine(day, dt.time()) if day else None
        if result is None:
            raise DocumentError(_("Date illisible : « %(value)s ».") % {"value": text})
    if timezone.is_naive(result):
        # A bare date is the blog's local time.
        result = timezone.make_aware(result)
    return result


def as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if item is not None and str(item).strip()]
    return [str(value).strip()] if str(value).strip() else []


def as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("false", "no", "non", "0", "draft", "brouillon")


# --- scraped pages ----------------------------------------------------------------

CHROME_LINES = {
    "≡ menu",
    "menu",
    "leave a comment",
    "laisser un commentaire",
    "tweetez",
    "tweet",
    "partagez",
    "partager",
    "enregistrer",
    "+1",
    "share",
    "pin",
}
_COUNTER = re.compile(
    r"^\d[\d  .,]*\s*(partages?|shares?|commentaires?|comments?|j’aime|likes?)$", re.I
)
_COMMENTS_HEADER = re.compile(r"^\{?\s*(\d+)\s+(commentaires?|comments?|réponses?)\b.*\}?$", re.I)
_CLICK_TO_TWEET = re.compile(r"^(?P<quote>.*?)(?:\s*#[\w-]+)*\s*Click to Tweet\s*$", re.I)
_BULLET = re.compile(r"^(?P<indent>\s*)•\s+(?P<text>.*)$")


def is_chrome(line: str) -> bool:
    stripped = line.strip()
    return stripped.lower() in CHROME_LINES or bool(_COUNTER.match(stripped))


def split_comments(lines: list[str]) -> tuple[list[str], list[str], int | None]:
    """Separate the article from the reader comments that a scraped page carries."""
    for index, line in enumerate(lines):
        match = _COMMENTS_HEADER.match(line.strip())
        if match and line.strip().startswith("{"):
            return lines[:index], lines[index + 1 :], int(match.group(1))
    return lines, [], None


def _is_name_line(lines: list[str]) -> bool:
    first = lines[0].strip()
    return (
        len(lines) > 2
        and lines[1].strip() == ""
        and 0 < len(first) <= 40
        and not re.search(r"[.,;:!?…)\]]$", first)
    )


def parse_comments(lines: list[str]) -> list[ParsedComment]:
    """Bulleted comments; the bullet's indentation gives the reply depth."""
    raw: list[tuple[int, list[str], int]] = []  # (depth, lines, text indent)
    for line in lines:
        if is_chrome(line):
            continue
        bullet = _BULLET.match(line)
        if bullet:
            indent = len(bullet.group("indent"))
            raw.append((max(0, (indent - 2) // 2), [bullet.group("text")], indent + 2))
        elif raw:
            raw[-1][1].append(
                line[raw[-1][2] :] if line[: raw[-1][2]].strip() == "" else line.strip()
            )
    comments: list[ParsedComment] = []
    stack: list[int] = []  # index of the last comment at each depth
    for depth, body_lines, _indent in raw:
        while body_lines and not body_lines[-1].strip():
            body_lines.pop()
        author = ""
        if _is_name_line(body_lines):
            author = body_lines[0].strip()
            body_lines = body_lines[2:]
        depth = min(depth, len(stack))
        parent = stack[depth - 1] if depth > 0 else None
        comments.append(
            ParsedComment(
                author=author, body="\n".join(body_lines).strip(), depth=depth, parent_index=parent
            )
        )
        del stack[depth:]
        stack.append(len(comments) - 1)
    return comments


def _paragraphs(lines: list[str]) -> list[list[str]]:
    blocks, current = [], []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _escape_markdown_line(text: str) -> str:
    """Plain text must not turn into Markdown by accident (a line starting with # or 1.)."""
    text = re.sub(r"^(#{1,6}\s|[-+*]\s|\d+[.)]\s|>)", r"\\\1", text)
    return text.replace("<", "&lt;")


def plain_text_to_markdown(lines: list[str]) -> str:
    """A scraped page's text: bullets become lists, quotes become block quotes,
    a short line introducing a list becomes a heading."""
    blocks = _paragraphs(lines)
    out: list[str] = []
    index = 0
    while index < len(blocks):
        block = blocks[index]
        first = block[0].strip()
        # « quoted paragraphs » followed by "– Author": one block quote.
        if first.startswith("«"):
            end = index
            while end < len(blocks) and not blocks[end][-1].strip().endswith("»"):
                end += 1
            if end < len(blocks):
                quote = [" ".join(b.strip() for b in blk) for blk in blocks[index : end + 1]]
                rendered = "\n>\n".join(f"> {_escape_markdown_line(p)}" for p in quote)
                index = end + 1
                if index < len(blocks) and re.match(r"^[–—-]\s+\S", blocks[index][0].strip()):
                    rendered += (
                        f"\n>\n> — {_escape_markdown_line(blocks[index][0].strip()[1:].strip())}"
                    )
                    index += 1
                out.append(rendered)
                continue
        items: list[str] = []
        for line in block:
            bullet = _BULLET.match(line)
            tweet = _CLICK_TO_TWEET.match(line.strip())
            if bullet:
                items.append(f"- {_escape_markdown_line(bullet.group('text').strip())}")
            elif tweet:
                items.append(f"\n> {_escape_markdown_line(tweet.group('quote').strip())}\n")
            elif line.strip() in ("***", "---", "* * *"):
                items.append("\n---\n")
            else:
                items.append(_escape_markdown_line(line.strip()))
        next_is_list = index + 1 < len(blocks) and bool(_BULLET.match(blocks[index + 1][0]))
        if (
            len(block) == 1
            and next_is_list
            and len(first) <= 70
            and not re.search(r"[.:;,]$", first)
            and not _BULLET.match(block[0])
        ):
            out.append(f"## {_escape_markdown_line(first)}")
        else:
            out.append("\n".join(items))
        index += 1
    return re.sub(r"\n{3,}", "\n\n", "\n\n".join(out)).strip() + "\n"


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
    workshop = reverse("signups:workshop")
    interviews = reverse("signups:interviews")
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


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse_document(raw: bytes) -> ParsedDocument:
    text, warnings = repair_text(decode(raw))
    block, body = split_front_matter(text)
    meta = load_front_matter(block) if block is not None else {}
    comments: list[ParsedComment] = []
    if block is None:
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
                _(
                    "La page annonce %(announced)s commentaires ; %(found)s figurent dans le fichier."
                )
                % {"announced": announced, "found": len(comments)}
            )
    # A non-breaking space after "#" (word processors insert them) still makes a heading.
    body = re.sub(r"(?m)^([ \t]{0,3}#{1,6})\xa0+", r"\1 ", body)
    title = str(meta.get("title") or "").strip()
    if not title:
        title, body = title_from_text(body)
        if not title:
            raise DocumentError(_("Impossible de trouver un titre : le texte est vide."))
    body = link_invitations(body.strip("\n") + "\n")
    status = meta.get("status")
    published = as_bool(meta["published"]) if "published" in meta else True
    if status is not None:
        published = published and str(status).strip().lower() in (
            "published",
            "publish",
            "publié",
            "publie",
        )
    permalink = _site_path(meta.get("permalink"), "permalink", warnings)
    redirect_from = [
        path
        for path in (
            _site_path(p, "redirect_from", warnings) for p in as_list(meta.get("redirect_from"))
        )
        if path
    ]
    canonical_link = str(meta.get("canonical_link") or "").strip()
    if canonical_link and (problem := web_url_problem(canonical_link)):
        warnings.append(
            _("Lien canonique « %(value)s » ignoré : %(problem)s")
            % {"value": _visible(canonical_link), "problem": problem}
        )
        canonical_link = ""
    return ParsedDocument(
        title=squash(title)[:200],
        body=body,
        content_hash=content_hash(raw),
        description=squash(str(meta.get("description") or "")),
        published_at=parse_date_value(meta.get("date")),
        author=str(meta.get("author") or "").strip(),
        categories=as_list(meta.get("categories", meta.get("category"))),
        published=published,
        permalink=permalink,
        redirect_from=redirect_from,
        canonical_link=canonical_link,
        image=str(meta.get("image") or "").strip(),
        slug=str(meta.get("slug") or "").strip(),
        extra={key: _jsonable(value) for key, value in meta.items() if key not in KNOWN_KEYS},
        comments=comments,
        warnings=warnings,
    )


def _visible(text: str) -> str:
    """Control characters shown as escapes (a NUL cannot even be stored by PostgreSQL)."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", text)[:200]


def _site_path(value, key: str, warnings: list[str]) -> str:
    """A path of this site (« blog/x » gains its « / »), or "" with a warning when the
    value would lead elsewhere (a scheme, « // », a backslash)."""
    text = str(value or "").strip()
    if not text:
        return ""
    if not text.startswith("/") and not urlsplit(text).scheme and "\\" not in text:
        text = "/" + text
    if problem := site_path_problem(text):
        warnings.append(
            _("%(key)s « %(value)s » ignoré : %(problem)s.")
            % {"key": key, "value": _visible(str(value).strip()), "problem": problem}
        )
        return ""
    return text.rstrip("/") or "/"


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
