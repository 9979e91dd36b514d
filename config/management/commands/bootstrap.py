"""`manage.py bootstrap`: the platform's starting data, safe to run any number of times.

Creates the first admin account, then asks each installed app that has a
`bootstrap(stdout)` method on its AppConfig to add its own starting data
(seed articles, lists, sequences).
"""

import os
import secrets
import sys

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.core.validators import validate_email
from django.db import transaction


class Command(BaseCommand):
    help = "Crée le compte d’administration et les données de départ (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-admin", action="store_true", help="Ne pas créer de compte d’administration."
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Ne rien demander (l’adresse du compte vient de DJANGO_SUPERUSER_EMAIL).",
        )

    def handle(self, *args, no_admin=False, interactive=True, **options):
        self.interactive = interactive and sys.stdin.isatty()
        if not no_admin:
            self._ensure_admin()
        for app_config in apps.get_app_configs():
            step = getattr(app_config, "bootstrap", None)
            if callable(step):
                self.stdout.write(f"{app_config.verbose_name} :")
                step(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Données de départ en place."))

    def _ensure_admin(self):
        User = get_user_model()
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "").strip()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("Compte d’administration : déjà créé.")
            return
        if not email and self.interactive:
            email = self._ask_email()
        with transaction.atomic():
            if User.objects.filter(is_superuser=True).exists():
                self.stdout.write("Compte d’administration : déjà créé.")
                return
            generated = not password
            password = password or secrets.token_urlsafe(12)
            User.objects.create_superuser(username=username, email=email, password=password)
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    "Compte d’administration créé — notez ce mot de passe, il ne sera plus affiché :\n"
                    f"  identifiant : {username}\n  mot de passe : {password}"
                )
            )
        else:
            self.stdout.write(f"Compte d’administration créé : {username}")
        if not email:
            self.stdout.write(
                "Sans adresse e-mail : tapez-en une à chaque envoi de test, ou ajoutez-la "
                "au compte dans l’administration (DJANGO_SUPERUSER_EMAIL la donne d’avance)."
            )

    def _ask_email(self) -> str:
        """The address test emails go to by default; empty to skip."""
        while True:
            email = input(
                "Adresse e-mail du compte d’administration (elle reçoit les envois de test ; "
                "vide pour passer) : "
            ).strip()
            if not email:
                return ""
            try:
                validate_email(email)
            except ValidationError:
                self.stderr.write(f"Adresse invalide : {email}")
                continue
            return email
