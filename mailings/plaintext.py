"""The plain-text part of a message, made from the same Markdown parse as its HTML.

Readable as it is, in any mail client: no Markdown marks left (`**`, `_`, `##`,
`[…](…)`), links as « texte (https://…) », images as their caption (and address),
lists with bullets or numbers, headings underlined, lines wrapped under 78 columns
(a URL is never cut).
"""

import textwrap
from collections.abc import Callable

from markdown_it.tree import SyntaxTreeNode

WIDTH = 78
BULLET = "•"
RULE = "―" * 12


def render_text(tokens, *, link: Callable[[str], str], image: Callable[[str], str | None]) -> str:
    """`tokens` from `MarkdownIt.parse`; `link` makes an href absolute; `image` gives an
    image's absolute URL, or None when its file is missing (the caption stands alone)."""
    blocks = _Renderer(link, image).blocks(SyntaxTreeNode(tokens), WIDTH)
    return "\n\n".join(block for block in blocks if block.strip()).strip()


class _Renderer:
    def __init__(self, link, image):
        self.link, self.image = link, image

    # --- inline ----------------------------------------------------------------------
    def inline(self, node) -> str:
        parts = []
        for child in node.children:
            kind = child.type
            if kind in ("text", "code_inline", "html_inline"):
                parts.append(child.content)
            elif kind == "softbreak":
                parts.append(" ")
            elif kind == "hardbreak":
                parts.append("\n")
            elif kind == "link":
                parts.append(self._link(child))
            elif kind == "image":
                parts.append(self._image(child))
            else:  # strong, em, s: their text, without the marks
                parts.append(self.inline(child))
        return "".join(parts)

    def _link(self, node) -> str:
        label = self.inline(node).strip()
        href = self.link(str(node.attrs.get("href", "")))
        shown = href.removeprefix("mailto:")
        if not href or label in (href, shown):
            return href.removeprefix("mailto:") or label
        if not label:
            return shown
        return f"{label} ({shown})"

    def _image(self, node) -> str:
        caption = self.inline(node).strip()
        url = self.image(str(node.attrs.get("src", "")))
        if url and caption:
            return f"{caption} ({url})"
        return url or caption

    # --- blocks ----------------------------------------------------------------------
    def blocks(self, node, width: int) -> list[str]:
        out = []
        for child in node.children:
            kind = child.type
            if kind == "paragraph":
                out.append(_wrap(self.inline(child.children[0]), width))
            elif kind == "heading":
                out.append(self._heading(child, width))
            elif kind in ("bullet_list", "ordered_list"):
                out.append(self._list(child, width))
            elif kind == "blockquote":
                inner = "\n\n".join(self.blocks(child, width - 2))
                out.append("\n".join(f"> {line}" if line else ">" for line in inner.split("\n")))
            elif kind == "hr":
                out.append(RULE)
            elif kind in ("fence", "code_block", "html_block"):
                out.append(child.content.rstrip("\n"))
            elif kind == "table":
                out.append(self._table(child))
            elif child.children:
                out.extend(self.blocks(child, width))
        return out

    def _heading(self, node, width: int) -> str:
        text = _wrap(self.inline(node.children[0]), width)
        if node.tag in ("h1", "h2"):
            longest = max(len(line) for line in text.split("\n"))
            return f"{text}\n{('=' if node.tag == 'h1' else '-') * min(longest, width)}"
        return text

    def _list(self, node, width: int) -> str:
        start = int(node.attrs.get("start", 1) or 1)
        ordered = node.type == "ordered_list"
        marks = [f"{start + i}." if ordered else BULLET for i in range(len(node.children))]
        indent = max(len(mark) for mark in marks) + 1
        tight = all(
            p.nester_tokens.opening.hidden
            for item in node.children
            for p in item.children
            if p.type == "paragraph"
        )
        items = []
        for mark, item in zip(marks, node.children, strict=True):
            body = ("\n" if tight else "\n\n").join(self.blocks(item, width - indent))
            lines = body.split("\n")
            first = f"{mark.ljust(indent)}{lines[0]}"
            rest = [f"{' ' * indent}{line}" if line else "" for line in lines[1:]]
            items.append("\n".join([first, *rest]))
        return ("\n" if tight else "\n\n").join(items)

    def _table(self, node) -> str:
        rows = []
        for section in node.children:
            for row in section.children:
                cells = [self.inline(cell.children[0]).strip() for cell in row.children]
                rows.append(" | ".join(cells))
        return "\n".join(rows)


def _wrap(text: str, width: int) -> str:
    """Each line under `width` columns, cut at spaces only (a long URL stays whole)."""
    lines = []
    for line in text.split("\n"):
        wrapped = textwrap.wrap(
            line, max(width, 20), break_long_words=False, break_on_hyphens=False
        )
        lines.extend(wrapped or [""])
    return "\n".join(lines)
