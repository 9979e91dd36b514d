"""Pages copied from a browser: the article's text without the site's chrome, and the
reader comments that came with it."""

import re

from .base import ParsedComment

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
        quote = _block_quote(blocks, index)
        if quote is not None:
            rendered, index = quote
            out.append(rendered)
            continue
        block = blocks[index]
        next_is_list = index + 1 < len(blocks) and bool(_BULLET.match(blocks[index + 1][0]))
        if _introduces_list(block, next_is_list):
            out.append(f"## {_escape_markdown_line(block[0].strip())}")
        else:
            out.append("\n".join(_block_lines(block)))
        index += 1
    return re.sub(r"\n{3,}", "\n\n", "\n\n".join(out)).strip() + "\n"


def _block_quote(blocks: list[list[str]], index: int) -> tuple[str, int] | None:
    """« Quoted paragraphs » followed by "– Author", from `blocks[index]`: one block quote,
    and the index after it; None when no quote starts (and ends) there."""
    if not blocks[index][0].strip().startswith("«"):
        return None
    end = index
    while end < len(blocks) and not blocks[end][-1].strip().endswith("»"):
        end += 1
    if end == len(blocks):
        return None
    quote = [" ".join(b.strip() for b in blk) for blk in blocks[index : end + 1]]
    rendered = "\n>\n".join(f"> {_escape_markdown_line(p)}" for p in quote)
    index = end + 1
    if index < len(blocks) and re.match(r"^[–—-]\s+\S", blocks[index][0].strip()):
        rendered += f"\n>\n> — {_escape_markdown_line(blocks[index][0].strip()[1:].strip())}"
        index += 1
    return rendered, index


def _block_lines(block: list[str]) -> list[str]:
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
    return items


def _introduces_list(block: list[str], next_is_list: bool) -> bool:
    """A short line, without final punctuation, just before a list: its heading."""
    first = block[0].strip()
    return (
        len(block) == 1
        and next_is_list
        and len(first) <= 70
        and not re.search(r"[.:;,]$", first)
        and not _BULLET.match(block[0])
    )
