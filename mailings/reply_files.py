"""The files readers attach to their replies.

Each file is written to STORAGES["replies"] under a random name before the reply's
row is committed (a crash leaves at most an orphan file, never a reply row pointing
at nothing); a reply already stored, or a failed save, deletes them again. A file over
MAIL_INBOUND_ATTACHMENT_MAX_BYTES, or past MAIL_INBOUND_ATTACHMENTS_MAX per reply, is
listed with the reason, without its content. Nothing is ever shown inline: staff
download each file as `application/octet-stream` (mailings/admin_replies.py)."""

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
    offer as a download's name; « piece-jointe-N » when it gave none."""
    name = _UNSAFE.sub(" ", str(part.get_filename() or "")).strip(" .")
    return name[:255] or f"piece-jointe-{position}"


def attachment_parts(message) -> list:
    """The attached files of an inbound message (anymail's parts), inline images with a
    file name included; the message's own text and HTML bodies are not."""
    return [
        part
        for part in message.walk()
        if part.is_attachment()
        or (part.get_content_disposition() == "inline" and part.get_filename())
    ]


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
