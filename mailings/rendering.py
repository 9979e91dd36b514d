"""Render a message once, personalise it cheaply per recipient.

A message (a mailing or a sequence step) is rendered once per process and
version: Markdown → HTML in the site's look with CSS inlined, plus plain text.
The personal parts (first name, unsubscribe and preference links, Message-ID…)
are left as `@@NAME@@` placeholders; for each recipient only those are replaced,
in the strings (ESP, preview) or straight in the serialised bytes (SMTP).
"""

import html
import re
import textwrap
from dataclasses import dataclass, field
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache
from urllib.parse import urlsplit

import css_inline
from django.conf import settings
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.test.signals import setting_changed
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

from articles.rendering import image_available, media_src
from config.links import absolute
from config.mail import SlottedBytes, WellFormedEmail
from config.typography import french_text
from mailings.plaintext import render_text

from . import clicks, replies
from .fastpaths.tokens import token_maker

PLACEHOLDER = re.compile(r"@@([A-Z]+)@@")
PLACEHOLDER_BYTES = re.compile(rb"@@([A-Z]+)@@")
FIRST_NAME_TOKENS = ("{prénom}", "{prenom}")
# A body whose first words are a greeting of its own gets none from the chrome (never
# « Bonjour Awa, » twice).
_OWN_GREETING = re.compile(
    r"\s*[*_]*(?:bonjour|bonsoir|salut|coucou|(?:(?:mon|ma|mes)\s+)?(?:cher|chère|chers|chères)"
    r"|hello|hi|hey|dear)\b",
    re.IGNORECASE,
)
# Plain-text lines and HTML lines stay under this so every part is sent as 8bit
# (no quoted-printable: placeholders are replaced in the serialised bytes).
MAX_LINE = 900

_inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def site_host() -> str:
    return _host_of(settings.SITE_URL)


@lru_cache(maxsize=8)
def _host_of(site_url: str) -> str:
    return urlsplit(site_url).hostname or "localhost"


def image_url(src: str) -> str | None:
    """The absolute URL of an image of the body, or None when its file is not there (then
    its caption stands in its place, as on the site)."""
    if not image_available(src):
        return None
    return absolute(media_src(src))


def _build_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"typographer": True, "html": False}).enable(
        ["table", "strikethrough", "replacements", "smartquotes"]
    )
    md.options["quotes"] = "«»‹›"  # French quotes for "…" typed by the editor

    def render_link_open(self, tokens, idx, options, env):
        token = tokens[idx]
        token.attrSet("href", absolute(token.attrGet("href") or ""))
        return self.renderToken(tokens, idx, options, env)

    def render_image(self, tokens, idx, options, env):
        token = tokens[idx]
        src = token.attrGet("src") or ""
        url = image_url(src)
        if url is None:
            caption = self.renderInline(token.children or [], options, env)
            return f'<span class="image-missing">{caption}</span>' if caption.strip() else ""
        alt = html.escape(self.renderInlineAsText(token.children or [], options, env))
        return f'<img src="{html.escape(url)}" alt="{alt}">'

    md.add_render_rule("link_open", render_link_open)
    md.add_render_rule("image", render_image)
    return md


_markdown = _build_markdown()


def markdown_to_html(body: str) -> str:
    """Every link and image absolute; an image whose file is missing becomes its caption."""
    return _markdown.render(body)


def markdown_to_text(body: str) -> str:
    """The plain-text part: the same parse as the HTML, read as text (links « texte
    (url) », an image its caption and address, no Markdown marks; mailings.plaintext)."""
    return render_text(_markdown.parse(body), link=absolute, image=image_url)


def _short_lines(markup: str) -> str:
    """HTML ignores where lines break: break long ones at spaces (300 characters
    are at most 900 bytes in UTF-8)."""
    out = []
    for line in markup.splitlines():
        if len(line.encode()) > MAX_LINE:
            out.extend(
                textwrap.wrap(line, MAX_LINE // 3, break_long_words=False, break_on_hyphens=False)
            )
        else:
            out.append(line)
    return "\n".join(out)


def postal_address() -> str:
    """The sender's postal address for the footer, or "" while MAIL_POSTAL_ADDRESS is
    unset or still the placeholder: the footer then names the site instead, and a
    mailing that would leave the machine is blocked (mailings.checks)."""
    address = " ".join(settings.MAIL_POSTAL_ADDRESS.split())
    if any(mark in address.lower() for mark in settings.PLACEHOLDER_MARKS):
        return ""
    return address


def sender_address(name: str = "") -> str:
    display, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((name or display or settings.SITE_NAME, address))


def unsubscribe_mailbox() -> str:
    return settings.MAIL_UNSUBSCRIBE_MAILTO or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


@dataclass
class Rendered:
    """One message, rendered once; `personalise` fills in one recipient."""

    key: str  # "mailing-12" or "step-3": the anymail tag
    subject: str
    from_email: str
    text: str
    html: str
    metadata: dict = field(default_factory=dict)
    # Replies go to the inbox (mailings.replies): a Reply-To with the delivery's tag.
    reply_to: bool = False
    links: tuple = ()  # the tracked links, @@TRKA@@… (MAIL_TRACK_CLICKS)
    _slotted: SlottedBytes | bool | None = None  # False: not 8bit, one message each

    def headers(self) -> dict:
        return {
            "Message-ID": "@@MSGID@@",
            "Date": "@@DATE@@",
            "List-Unsubscribe": "<@@UNSUB@@>, <mailto:@@MAILTO@@>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": "@@LISTID@@",
            "X-Pouls-Delivery": "@@DID@@",
            "X-Pouls-Message": self.key,
            **({"Reply-To": "@@REPLYTO@@"} if self.reply_to else {}),
        }

    def template_message(self) -> WellFormedEmail:
        message = WellFormedEmail(
            subject=self.subject,
            body=self.text,
            from_email=self.from_email,
            to=["@@TO@@"],
            headers=self.headers(),
        )
        message.attach_alternative(self.html, "text/html")
        return message

    def with_links(self, values: dict) -> dict:
        """One recipient's values with their tracked links, when the message has some."""
        if not self.links or clicks.LINK_PREFIX + "A" in values:
            return values
        delivery_id = "" if values.get("NOTRACK") else values["DID"]
        return {**values, **clicks.link_values(delivery_id, self.links)}

    def personal_bytes(self, values: dict) -> bytes:
        """One recipient's message as the SMTP transport sends it: the message is
        serialised once, placeholders and all, and each recipient's values are joined
        into it (config.mail.SlottedBytes); when a part had to be quoted-printable (a
        line too long to send as 8bit), one full serialisation per recipient."""
        values = self.with_links(values)
        if self._slotted is None:
            raw = self.template_message().message().as_bytes(linesep="\r\n")
            self._slotted = SlottedBytes.of(raw, PLACEHOLDER_BYTES) or False
        if not self._slotted:
            message = self.personal_message(values)
            message.extra_headers["Date"] = values["DATE"]
            return message.message().as_bytes(linesep="\r\n")
        return self._slotted.fill({name.encode(): value.encode() for name, value in values.items()})

    def personal_message(self, values: dict, *, connection=None) -> WellFormedEmail:
        """A Django message for backends that take message objects (anymail, files…)."""
        values = self.with_links(values)

        def fill(text: str) -> str:
            return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)

        headers = {name: fill(value) for name, value in self.headers().items()}
        headers.pop("Date")
        message = WellFormedEmail(
            subject=self.subject,
            body=fill(self.text),
            from_email=self.from_email,
            to=[values["TO"]],
            headers=headers,
            connection=connection,
        )
        message.attach_alternative(fill(self.html), "text/html")
        message.tags = [self.key]
        message.metadata = {**self.metadata, "delivery_id": values["DID"]}
        message.track_opens = settings.MAIL_TRACK_OPENS
        # Clicks are tracked by the site or not at all (MAIL_TRACK_CLICKS): the ESP never
        # wraps the links, so a reader's refusal and the default hold through any ESP.
        message.track_clicks = False
        return message

    def preview(self, values: dict) -> tuple[str, str]:
        values = self.with_links(values)

        def fill(text: str) -> str:
            return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)

        return fill(self.html), fill(self.text)


_SLOT = "TOKEN-SLOT"
MAILTO_SUBJECT_PREFIX = "unsubscribe-"


@lru_cache(maxsize=8)
def _link(purpose: str, site_url: str) -> str:
    """The signed-link URL of `signups` for a purpose, with a slot for the token: resolved
    once, not per recipient (the tests compare it with signups.tokens' own URLs)."""
    return absolute(reverse(f"signups:{purpose}", args=[_SLOT]))


@lru_cache(maxsize=64)
def _list_label(list_name: str) -> str:
    return re.sub(r'["\\\r\n]', "", list_name)


def recipient_values_maker(date: str | None = None):
    """A function of one recipient's data to their values, with everything the
    recipients of a batch share (links, mailbox, host, keys, Date) worked out once."""
    site_url = settings.SITE_URL
    unsubscribe_link = _link("unsubscribe", site_url).split(_SLOT)
    preferences_link = _link("preferences", site_url).split(_SLOT)
    mailbox = f"{unsubscribe_mailbox()}?subject={MAILTO_SUBJECT_PREFIX}"
    host = _host_of(site_url)
    unsubscribe_token = token_maker("unsubscribe")
    preferences_token = token_maker("preferences")
    date = date or formatdate(localtime=False, usegmt=True)
    escape = html.escape
    reply_address = replies.reply_address_maker() or (lambda delivery_id: "")

    def values(
        *,
        delivery_id: int | None,
        email: str,
        first_name: str,
        subscription_id: int,
        contact_id: int,
        list_slug: str,
        list_name: str,
        track_clicks: bool = True,
    ) -> dict:
        first_name = " ".join(first_name.split())  # no line breaks into headers or text
        name_html = escape(first_name)
        token = unsubscribe_token(subscription_id)
        return {
            "TO": email,
            "FNT": first_name,
            "FNH": name_html,
            "HIT": f" {first_name}" if first_name else "",
            "HIH": f" {name_html}" if first_name else "",
            "UNSUB": token.join(unsubscribe_link),
            "PREFS": preferences_token(contact_id).join(preferences_link),
            # The same signed token as the link: the inbound webhook unsubscribes on it.
            "MAILTO": f"{mailbox}{token}",
            "LISTID": f'"{_list_label(list_name)}" <{list_slug}.{host}>',
            "MSGID": f"<delivery-{delivery_id or 'preview'}@{host}>",
            "DID": str(delivery_id or ""),
            "DATE": date,
            "REPLYTO": reply_address(delivery_id),
            # A reader who refused click tracking keeps the direct links (not a placeholder).
            "NOTRACK": "" if track_clicks else "1",
        }

    return values


def recipient_values(*, date: str | None = None, **recipient) -> dict:
    """The per-recipient values: everything else is shared by the whole mailing.
    (`recipient_values_maker` for many recipients.)"""
    return recipient_values_maker(date)(**recipient)


def chrome_language(language: str | None) -> str:
    """The site language closest to a contact's (`fr-ca` → `fr`), else the default."""
    try:
        return translation.get_supported_language_variant(language or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def render(
    *,
    key: str,
    subject: str,
    preheader: str,
    body: str,
    sender_name: str = "",
    language: str = "",
    track_clicks: bool | None = None,
    reply_to: bool = False,
) -> Rendered:
    """The editor's subject and body stay as written; the chrome around them (greeting,
    footer) is in `language`, the reader's. A body that opens with its own greeting
    (« Bonjour {prénom}, ») gets no second one; its French spaces become no-break ones.
    With MAIL_TRACK_CLICKS, its web links go through the site's tracked links."""
    if track_clicks is None:
        track_clicks = clicks.enabled()
    with translation.override(chrome_language(language)):
        body = french_text(body)  # the site's typography: no line starts with « ? » or « » »
        for token in FIRST_NAME_TOKENS:
            # After a space, the space goes with the name: « Bonjour {prénom} ! » reads
            # « Bonjour Awa ! », or « Bonjour ! » for a reader who gave no first name.
            body = body.replace(f" {token}", "@@HIT@@").replace(token, "@@FNT@@")
        html_body = (
            markdown_to_html(body).replace("@@FNT@@", "@@FNH@@").replace("@@HIT@@", "@@HIH@@")
        )
        context = {
            "subject": subject,
            "preheader": preheader,
            "html_body": mark_safe(html_body),  # noqa: S308 — markdown-it escapes raw HTML
            "text_body": markdown_to_text(body),
            "greeting": not _OWN_GREETING.match(body),
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
            "sender": sender_name or settings.SITE_NAME,
            "postal_address": postal_address(),
        }
        subject_line = " ".join(
            render_to_string("mailings/email/message.subject.txt", context).split()
        )
        text = render_to_string("mailings/email/message.txt", context)
        markup = render_to_string("mailings/email/message.html", context)
    markup = _short_lines(_inliner.inline(markup))
    links = ()
    if track_clicks:
        markup, text, links = clicks.rewrite(markup, text)
    kind, _sep, pk = key.partition("-")
    return Rendered(
        key=key,
        subject=subject_line,
        from_email=sender_address(sender_name),
        text=text,
        html=markup,
        metadata={f"{kind}_id": pk},
        links=links,
        reply_to=reply_to,
    )


@lru_cache(maxsize=64)
def _render_cached(
    key: str,
    version: str,
    subject,
    preheader,
    body,
    sender_name,
    language,
    track_clicks,
    reply_to=False,
) -> Rendered:
    return render(
        key=key,
        subject=subject,
        preheader=preheader,
        body=body,
        sender_name=sender_name,
        language=language,
        track_clicks=track_clicks,
        reply_to=reply_to,
    )


@receiver(setting_changed, dispatch_uid="mailings.rendering.forget_renders")
def forget_renders(**kwargs) -> None:
    """Forget the messages rendered in this process. A render reads the settings (site,
    sender, postal address, click tracking, reply mailbox), which change only under
    override_settings: as Django does for its own caches, a change clears them."""
    _render_cached.cache_clear()


def render_message(obj, language: str = "") -> Rendered:
    """A Mailing or a Step, rendered once per version and language in this process."""
    return _render_cached(
        obj.message_key,
        obj.updated_at.isoformat(),
        obj.subject,
        obj.preheader,
        obj.body,
        getattr(obj, "sender_name", ""),
        chrome_language(language),
        clicks.enabled(),
        bool(replies.reply_mailbox()),
    )
