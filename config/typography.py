"""French typography, one implementation for pages and emails.

- A narrow no-break space before ; ! ? and a no-break space before : and inside « »,
  so that no line starts with « ? », « : » or « » » and no « ends a line.
- « ? » and « ! » glued to a word (« passion? ») get their narrow space.
- No doubled guillemets around a name that carries its own: « Atelier « Comment
  lire… » » reads Atelier « Comment lire… »; other nested guillemets become “ ”.
- Only French text changes: in HTML, elements whose `lang` is not French (and code,
  scripts, styles, form fields) are left alone.

`french_text` works on plain text (and on Markdown before it is rendered);
`french_html` on markup. Templates use the `typographie` filter (a builtin).
"""

import re

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import get_language

NBSP = "\u00a0"
NNBSP = "\u202f"
_SPACE = "[ \t\r\n\u00a0\u202f]"
# What may follow punctuation that belongs to the word before it (not a URL's « ?q= »,
# not an image's « ![ »).
_AFTER = r"(?=$|[\s»)\]}*_.,…\"”’'<;:!?]|&(?:nbsp|#160|#xa0|quot|#39|raquo);)"

_NAME_IN_GUILLEMETS = re.compile(rf"«{_SPACE}*([^«»]*«[^«»]*»){_SPACE}*»")
_NESTED = re.compile(rf"(«[^«»]*)«{_SPACE}*([^«»]*?){_SPACE}*»([^«»]*»)")
_BEFORE_TALL = re.compile(rf"(?:{_SPACE}+|(?<=[^\W\d_]))([!?]+){_AFTER}")
_BEFORE_SEMICOLON = re.compile(rf"{_SPACE}+;{_AFTER}")
_BEFORE_COLON = re.compile(rf"{_SPACE}+:{_AFTER}")
_AFTER_OPENING = re.compile(rf"«{_SPACE}*")
_BEFORE_CLOSING = re.compile(rf"{_SPACE}*»")
# Every rule above needs one of these: most of a page's text holds none of them.
_TOUCHED = re.compile("[«»!?;:]")


def french_text(text: str) -> str:
    """French spacing for plain text (see the module's docstring)."""
    if not text or not _TOUCHED.search(text):
        return text
    if "«" in text:
        text = _NAME_IN_GUILLEMETS.sub(r"\1", text)
        text = _NESTED.sub(r"\1“\2”\3", text)
        text = _AFTER_OPENING.sub("«" + NBSP, text)
    if "»" in text:
        text = _BEFORE_CLOSING.sub(NBSP + "»", text)
    text = _BEFORE_TALL.sub(NNBSP + r"\1", text)
    text = _BEFORE_SEMICOLON.sub(NNBSP + ";", text)
    return _BEFORE_COLON.sub(NBSP + ":", text)


_TOKEN = re.compile(r"<!--.*?-->|<(/?)([a-zA-Z][\w:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
_LANG = re.compile(r"""\blang\s*=\s*["']?([\w-]*)""", re.I)
_UNTOUCHED = {"script", "style", "pre", "code", "kbd", "samp", "textarea"}
_VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
    "source", "track", "wbr",
}  # fmt: skip


def _is_french(code: str) -> bool:
    return code.lower().startswith("fr")


def french_html(markup: str, *, language: str | None = None) -> str:
    """French spacing in the text of `markup`, wherever its language is French.

    `language` is the language of the markup's outside (the page's); `lang`
    attributes inside switch it for their element."""
    if not markup:
        return markup
    french = _is_french(language or get_language() or "fr")
    stack: list[tuple[str, bool, bool]] = []  # (tag, french outside it, untouched outside it)
    untouched = False
    out: list[str] = []
    position = 0
    for match in _TOKEN.finditer(markup):
        out.append(_spaced(markup[position : match.start()], french and not untouched))
        out.append(match.group(0))
        position = match.end()
        french, untouched = _after_tag(match, stack, french, untouched)
    out.append(_spaced(markup[position:], french and not untouched))
    return "".join(out)


def _spaced(text: str, french: bool) -> str:
    return french_text(text) if french and text else text


def _after_tag(match, stack: list, french: bool, untouched: bool) -> tuple[bool, bool]:
    """(French?, untouched?) after this tag: an opening tag pushes the outside's state
    (and may switch the language), a closing one restores it."""
    closing, tag = match.group(1), (match.group(2) or "").lower()
    if not tag:
        return french, untouched  # a comment
    if closing:
        for depth in range(len(stack) - 1, -1, -1):
            if stack[depth][0] == tag:
                _tag, french, untouched = stack[depth]
                del stack[depth:]
                break
        return french, untouched
    attributes = match.group(3)
    if tag in _VOID or attributes.rstrip().endswith("/"):
        return french, untouched
    stack.append((tag, french, untouched))
    lang = _LANG.search(attributes)
    if lang:
        french = _is_french(lang.group(1))
    return french, untouched or tag in _UNTOUCHED


def french_email(*, subject: str, text: str, html: str, language: str) -> tuple[str, str, str]:
    """A transactional email's three parts, spaced the French way when it is in French."""
    if not _is_french(language or "fr"):
        return subject, text, html
    return french_text(subject), french_text(text), french_html(html, language=language)


register = template.Library()


@register.filter(is_safe=True, needs_autoescape=True)
def typographie(value, autoescape=True):
    """`{{ title|typographie }}`, or `{% filter typographie %}…{% endfilter %}` around markup."""
    if not isinstance(value, SafeData):
        value = conditional_escape(value) if autoescape else str(value)
    return mark_safe(french_html(str(value)))  # noqa: S308 — only spaces change
