"""Feed a saved email (.eml) through the inbound path, as the ESP's webhook would:
an email to the reply address lands in the replies inbox, one to the List-Unsubscribe
mailbox unsubscribes. For development and for replaying an email by hand."""

from pathlib import Path

from anymail.inbound import AnymailInboundMessage
from anymail.signals import AnymailInboundEvent, EventType, inbound
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Traite un fichier .eml comme un email reçu par le webhook entrant de l’ESP."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="fichier .eml")

    def handle(self, *args, files, **options):
        for name in files:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: fichier introuvable")
            message = AnymailInboundMessage.parse_raw_mime_bytes(path.read_bytes())
            event = AnymailInboundEvent(
                event_type=EventType.INBOUND,
                timestamp=timezone.now(),
                event_id=str(message.get("Message-ID", "") or ""),
                message=message,
            )
            # The same signal the webhook sends: the same receivers, the same outcome.
            responses = inbound.send(sender=self.__class__, event=event, esp_name="eml")
            outcomes = [str(answer) for _receiver, answer in responses if answer]
            self.stdout.write(f"{name}: {', '.join(outcomes) or 'ignored'}")
