"""HTML from a platform (WordPress, Ghost, Medium, Substack) stored as the article's
text: CommonMark passes HTML blocks through untouched, so each top-level chunk is made
to start with a block tag, and WordPress's bare paragraphs get their <p> (its autop)."""

import re

# CommonMark's HTML blocks of type 6 (they run to the next blank line), and type 1.
_BLOCK_TAGS = (
    "address|article|aside|blockquote|body|caption|center|dd|details|dialog|dir|div|dl|dt|"
    "fieldset|figcaption|figure|footer|form|h[1-6]|header|hr|iframe|li|main|menu|nav|ol|p|"
    "section|summary|table|tbody|td|tfoot|th|thead|tr|ul|pre|script|style|textarea"
)
_STARTS_BLOCK = re.compile(rf"^\s*</?(?:{_BLOCK_TAGS})(?:[\s/>]|$)", re.I)
_PRE = re.compile(r"<pre\b.*?</pre\s*>", re.I | re.S)


def html_to_body(html: str, *, autop: bool = False) -> str:
    html = html.replace("\r\n", "\n").replace("\r", "\n").strip()
    # A blank line inside <pre> would end the HTML block: keep it as an entity newline.
    html = _PRE.sub(
        lambda m: re.sub(r"\n(?=\n)", "\n&#10;", m.group(0)).replace("\n&#10;\n", "\n&#10;"), html
    )
    chunks = [
        c.strip("\n")
        for c in re.split(r"\n[ \t]*\n", html)
        if re.sub(r"<!--.*?-->", "", c, flags=re.S).strip()
    ]
    out = []
    for chunk in chunks:
        if _STARTS_BLOCK.match(chunk):
            out.append(chunk)
        elif autop:
            out.append("<p>" + chunk.strip().replace("\n", "<br>\n") + "</p>")
        else:
            out.append(f"<div>\n{chunk}\n</div>" if "\n" in chunk else f"<p>{chunk}</p>")
    return "\n\n".join(out) + "\n"
