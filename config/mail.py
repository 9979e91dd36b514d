"""The embedded email backend: each message becomes one .eml file under var/mail/."""

import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class EmlFileBackend(BaseEmailBackend):
    """Write every message as a standalone RFC 5322 file that any mail client opens."""

    def __init__(self, *, file_path=None, **kwargs):
        super().__init__(**kwargs)
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages):
        if not email_messages:
            return 0
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            target = self.directory / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
            partial = target.with_suffix(".part")
            try:
                partial.write_bytes(message.message().as_bytes())
                os.replace(partial, target)  # readers never see half a message
            except OSError:
                if not self.fail_silently:
                    raise
                continue
            sent += 1
        return sent
