import socket

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Vérifie que le port du serveur web est libre avant de démarrer."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port, host, **options):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise CommandError(
                    f"Le port {port} est déjà utilisé ({exc.strerror}) : "
                    f"arrêtez l’autre serveur ou choisissez un port, par exemple PORT=8001 make run."
                ) from None
