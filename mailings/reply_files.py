"""The files readers attach to their replies.

Each file is written to STORAGES["replies"] under a random name before the reply's
row is committed (a crash leaves at most an orphan file, never a reply row pointing
at nothing); a reply already stored, or a failed save, deletes them again. A file over
MAIL_INBOUND_ATTACHMENT_MAX_BYTES, or past MAIL_INBOUND_ATTACHMENTS_MAX per reply, is
listed with the reason, without its content. Nothing is ever shown inline: staff
download each file as `application/octet-stream` (mailings/admin_replies.py)."""

import mimetypes
import re
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ReplyAttachment
from .models.reply import reply_files

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")


def _filename(part, position: int) -> str:
    """The name the reader's mail program gave the file, made safe to show and to
    offer as a download's name, its extension kept when it is too long; when it gave
    none, « piece-jointe-N » with the extension of its type (a forwarded email: .eml)."""
    name = _UNSAFE.sub(" ", str(part.get_filename() or "")).strip(" .")
    if not name:
        extension = mimetypes.guess_extension(part.get_content_type()) or ""
        return f"piece-jointe-{position}{extension}"
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        if not dot or len(extension) > 10:
            return name[:255].rstrip(" .")
        return f"{stem[: 254 - len(extension)].rstrip(' .')}.{extension}"
    return name


def attachment_parts(message) -> list:
    """The attached files of an inbound message (anymail's parts), inline images with a
    file name included; the message's own text and HTML bodies are not. An attached
    email is one file (.eml), its own attachments inside it."""
    found = []

    def visit(part, top=False):
        if (
            part.is_attachment()
            or (part.get_content_disposition() == "inline" and part.get_filename())
            or (part.get_content_type() == "message/rfc822" and not top)
        ):
            found.append(part)
        elif part.get_content_maintype() == "multipart":
            for child in part.iter_parts():
                visit(child)

    visit(message, top=True)
    return found


def attachments_store(message) -> list[ReplyAttachment]:
    """Write the message's attachments to the replies storage; returns their rows, not
    saved yet (`reply` unset)."""
    rows = []
    limit, count_limit = (
        settings.MAIL_INBOUND_ATTACHMENT_MAX_BYTES,
        settings.MAIL_INBOUND_ATTACHMENTS_MAX,
    )
    folder = timezone.now().strftime("%Y/%m")
    for position, part in enumerate(attachment_parts(message), start=1):
        content = part.get_content_bytes() or b""
        row = ReplyAttachment(
            filename=_filename(part, position),
            content_type=part.get_content_type()[:100],
            size=len(content),
        )
        if position > count_limit:
            row.not_kept = _("au-delà des %(count)s premières pièces jointes") % {
                "count": count_limit
            }
        elif len(content) > limit:
            row.not_kept = _("plus de %(size)s") % {"size": filesizeformat(limit)}
        else:
            row.file.name = reply_files.save(f"{folder}/{uuid.uuid4().hex}", ContentFile(content))
        rows.append(row)
    return rows


def attachments_discard(rows: list[ReplyAttachment]) -> None:
    """Delete the files written for a reply that was not stored."""
    for row in rows:
        if row.file:
            reply_files.delete(row.file.name)
