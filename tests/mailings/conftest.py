import threading

import pytest
from aiosmtpd.controller import Controller

from tests.helpers import free_port


class Recorder:
    """An SMTP server in a thread: keeps every message, refuses chosen recipients."""

    def __init__(self):
        self.messages = []
        self.refuse = {}  # address -> "550 ..." / "450 ..."
        self.pipelining = False  # offer ESMTP PIPELINING (RFC 2920), as Postfix does
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server(settings):
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    yield recorder
    controller.stop()


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://pouls.example"
    settings.DEFAULT_FROM_EMAIL = "Pouls <bonjour@pouls.example>"
    settings.MAIL_POSTAL_ADDRESS = "Pouls, 12 rue des Lecteurs, 75011 Paris"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
