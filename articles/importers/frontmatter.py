"""Front matter as found in the wild: YAML with custom tags (`!binary`, Ruby objects),
TOML between `+++` lines, and the many shapes of authors, tags, dates and flags."""

import base64
import binascii
import datetime as dt
import email.utils
import html
import re
import textwrap
import tomllib

import yaml
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from .base import DocumentError

_ADDRESS = re.compile(r"<?[\w.+-]+@[\w-]+(\.[\w-]+)+>?")


class _WildLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that never refuses a file for a tag it does not know."""


def _binary(loader, node):
    raw = loader.construct_scalar(node)
    try:
        data = base64.b64decode("".join(raw.split()), validate=True)
    except (binascii.Error, ValueError):
        return raw
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _unknown(loader, tag_suffix, node):
    """Unknown tags (`!ruby/object:…`, `!foo`): the value as plain data."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


for _tag in ("!binary", "tag:yaml.org,2002:binary"):
    _WildLoader.add_constructor(_tag, _binary)
_WildLoader.add_multi_constructor("!", _unknown)
_WildLoader.add_multi_constructor("tag:", _unknown)


def split_front_matter(text: str) -> tuple[str | None, str, str]:
    """(header, body, kind): YAML between `---` lines (indented keys and closing marker
    tolerated) or TOML between `+++` lines; kind is "yaml", "toml" or ""."""
    lines = text.split("\n")
    marker = lines[0].strip() if lines else ""
    if marker not in ("---", "+++"):
        return None, text, ""
    for index in range(1, len(lines)):
        if lines[index].strip() == marker:
            kind = "yaml" if marker == "---" else "toml"
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), kind
    if marker == "+++":
        raise DocumentError(_("L’en-tête TOML commence par « +++ » mais ne se termine jamais."))
    raise DocumentError(_("L’en-tête YAML commence par « --- » mais ne se termine jamais."))


def load_front_matter(block: str, kind: str = "yaml") -> dict:
    if kind == "toml":
        try:
            return tomllib.loads(block)
        except tomllib.TOMLDecodeError as exc:
            raise DocumentError(
                _("L’en-tête TOML est invalide : %(problem)s.") % {"problem": exc}
            ) from exc
    # Editors' exports indent every key by a space: dedent the block as a whole.
    block = textwrap.dedent(block)
    try:
        data = yaml.load(block, Loader=_WildLoader)  # noqa: S506 (a SafeLoader subclass)
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
    """A date from YAML/TOML (date, datetime, ISO 8601 text, RFC 2822 text)."""
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
            # Jekyll writes « 2015-03-12 10:20:00 +0100 ».
            spaced = re.match(r"^(\S+ \S+) ([+-]\d{2}:?\d{2})$", text)
            result = parse_datetime(f"{spaced[1]}{spaced[2]}") if spaced else None
        if result is None:
            day = parse_date(text[:10]) if re.match(r"^\d{4}-\d{2}-\d{2}$", text) else None
            result = dt.datetime.combine(day, dt.time()) if day else None
        if result is None:
            try:
                result = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                result = None
        if result is None:
            raise DocumentError(_("Date illisible : « %(value)s ».") % {"value": text})
    if timezone.is_naive(result):
        # A bare date is the blog's local time.
        result = timezone.make_aware(result)
    return result


OTHER_DATE_KEYS = (
    "publishDate",
    "pubDate",
    "published_at",
    "created",
    "created_at",
    "lastmod",
    "modified",
    "updated",
)
_FILE_DATE = re.compile(r"(?:^|/)(\d{4})-(\d{2})-(\d{2})-[^/]+$")


def date_from_name(name: str) -> dt.datetime | None:
    """Jekyll's convention: `_posts/2015-03-12-titre.md` was published on 12 March 2015."""
    match = _FILE_DATE.search(name.replace("\\", "/"))
    if not match:
        return None
    try:
        day = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if item is not None and str(item).strip()]
    return [str(value).strip()] if str(value).strip() else []


def as_words(value) -> list[str]:
    """Jekyll's `tags`/`categories`: a list, or a string of words separated by spaces
    (or by commas, when it has any)."""
    if isinstance(value, str):
        parts = value.split(",") if "," in value else value.split()
        return [p.strip() for p in parts if p.strip()]
    return as_list(value)


def as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("false", "no", "non", "0", "draft", "brouillon")


def display_name(value) -> str:
    """An author as readers may see it: a display name, never an e-mail address.

    Takes a string (« Selma <selma@x.fr> »), a list of authors, or a mapping
    (`display_name`, `name`, `login`, … ; `email` is never read)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        for key in ("display_name", "name", "nom", "full_name", "title", "login", "username"):
            if value.get(key):
                return display_name(value[key])
        first, last = value.get("first_name") or "", value.get("last_name") or ""
        return display_name(f"{first} {last}")
    if isinstance(value, list | tuple):
        names = [display_name(item) for item in value]
        return ", ".join(dict.fromkeys(n for n in names if n))
    text = html.unescape(str(value))
    text = _ADDRESS.sub("", text)
    text = re.sub(r"\(\s*\)|<\s*>|mailto:", "", text)
    return " ".join(text.split()).strip(" ,;-")


def contains_address(value) -> bool:
    return bool(_ADDRESS.search(str(value)))
