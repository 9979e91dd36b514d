"""WordPress shortcodes: [caption] and [gallery] become HTML, [embed]/[youtube] a link
(an iframe when the player is known), the others are removed with a warning."""

import html
import re

from django.utils.translation import gettext as _

_ATTR = re.compile(r"""(\w+)\s*=\s*("[^"]*"|'[^']*'|[^\s\]]+)""")
_CAPTION = re.compile(r"\[(caption|wp_caption)([^\]]*)\](.*?)\[/\1\]", re.S | re.I)
_GALLERY = re.compile(r"\[gallery([^\]]*)\]", re.I)
_EMBED = re.compile(r"\[(embed|youtube|vimeo|video|audio)([^\]]*)\](?:(.*?)\[/\1\])?", re.S | re.I)
_ANY = re.compile(r"\[(/?)([a-zA-Z][\w-]*)((?:\s+[^\]]*)?)\]")
_IMG = re.compile(r"(<a\b[^>]*>\s*)?<img\b[^>]*>(\s*</a>)?", re.S | re.I)


def _attrs(text: str) -> dict[str, str]:
    return {k.lower(): v.strip("\"'") for k, v in _ATTR.findall(text)}


def _caption(match: re.Match) -> str:
    attrs, inner = _attrs(match.group(2)), match.group(3)
    image = _IMG.search(inner)
    picture = image.group(0) if image else ""
    text = (inner.replace(picture, "", 1) if picture else inner).strip()
    text = text or attrs.get("caption", "")
    return f'<figure class="wp-caption">{picture}<figcaption>{text}</figcaption></figure>'


def shortcodes_to_html(text: str, *, attachments: dict[str, str], warnings: list[str]) -> str:
    """`attachments` maps attachment ids to their URLs (for [gallery ids="…"])."""
    text = _CAPTION.sub(_caption, text)

    def gallery(match: re.Match) -> str:
        ids = [i.strip() for i in _attrs(match.group(1)).get("ids", "").split(",") if i.strip()]
        urls = [attachments[i] for i in ids if i in attachments]
        if len(urls) < len(ids) or not ids:
            warnings.append(
                _("Galerie : %(missing)s image(s) sur %(total)s introuvable(s) dans l’export.")
                % {"missing": len(ids) - len(urls), "total": len(ids)}
            )
        images = "".join(f'<img src="{html.escape(u)}" alt="">' for u in urls)
        return f'<figure class="gallery">{images}</figure>' if images else ""

    def embed(match: re.Match) -> str:
        url = (match.group(3) or _attrs(match.group(2)).get("src", "")).strip()
        if not url.startswith(("http://", "https://")):
            return ""
        return f'<a href="{html.escape(url)}">{html.escape(url)}</a>'

    text = _GALLERY.sub(gallery, text)
    text = _EMBED.sub(embed, text)
    removed = []

    def other(match: re.Match) -> str:
        name = match.group(2)
        if not match.group(1):
            removed.append(name)
        return ""

    # Only bracketed words that look like shortcodes: a closing tag exists, or attributes.
    names = {m.group(2) for m in _ANY.finditer(text) if m.group(1)} | {
        m.group(2) for m in _ANY.finditer(text) if "=" in (m.group(3) or "")
    }
    if names:
        text = _ANY.sub(lambda m: other(m) if m.group(2) in names else m.group(0), text)
    if removed:
        warnings.append(
            _("Codes courts retirés (leur texte est gardé) : %(names)s.")
            % {"names": ", ".join(f"[{n}]" for n in dict.fromkeys(removed))}
        )
    return text
