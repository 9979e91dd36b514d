import time
import uuid

from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError

from config.tasks import ping


class Command(BaseCommand):
    help = "Envoie une tâche aux workers Celery et attend qu’un worker la traite."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args, timeout, **options):
        token = uuid.uuid4().hex
        started = time.monotonic()
        ping.delay(token)
        while time.monotonic() - started < timeout:
            if cache.get(f"pouls:ping:{token}") is not None:
                elapsed = time.monotonic() - started
                self.stdout.write(
                    self.style.SUCCESS(f"Worker OK : tâche traitée en {elapsed:.2f} s.")
                )
                return
            time.sleep(0.2)
        raise CommandError(f"Aucun worker n’a traité la tâche en {timeout:.0f} s.")
