"""`manage.py import_readers CSV... --list SLUG [--platform auto|mailchimp|kit|substack|ghost] [--welcome]`:
readers exported from another platform, with their consent history. Sends nothing
unless `--welcome`."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from signups.models import MailingList
from signups.platform_exports import PLATFORMS, contacts_import_platform_export


class Command(BaseCommand):
    help = _("Importe les lecteurs exportés de Mailchimp, Kit, Substack ou Ghost (CSV).")

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help=_("Fichiers CSV exportés."))
        parser.add_argument(
            "--list", required=True, dest="slug", help=_("Identifiant de la liste.")
        )
        parser.add_argument("--platform", choices=["auto", *PLATFORMS], default="auto")
        parser.add_argument(
            "--welcome",
            action="store_true",
            help=_(
                "Inscrire les lecteurs actifs à la séquence d’accueil (sinon rien n’est envoyé)."
            ),
        )

    def handle(self, *args, paths, slug, platform, welcome, **options):
        mailing_list = MailingList.objects.filter(slug=slug).first()
        if mailing_list is None:
            raise CommandError(_("Liste inconnue : %(slug)s") % {"slug": slug})
        errors = 0
        for path in paths:
            text = Path(path).read_bytes().decode("utf-8-sig", errors="replace")
            report = contacts_import_platform_export(
                text=text, mailing_list=mailing_list, platform=platform, welcome=welcome
            )
            self.stdout.write(
                _(
                    "%(path)s (%(platform)s) : %(active)s actif(s), %(unsubscribed)s désinscrit(s), "
                    "%(suppressed)s bloqué(s), %(unchanged)s inchangé(s), %(errors)s erreur(s)."
                )
                % {
                    "path": path,
                    "platform": PLATFORMS.get(report.platform, "?"),
                    "active": report.active,
                    "unsubscribed": report.unsubscribed,
                    "suppressed": report.suppressed,
                    "unchanged": report.unchanged,
                    "errors": len(report.errors),
                }
            )
            for line, value, reason in report.errors:
                self.stdout.write(self.style.ERROR(f"    {_('ligne')} {line} : {value} — {reason}"))
            errors += len(report.errors)
        if errors:
            raise CommandError(_("Des lignes n’ont pas pu être importées."), returncode=1)
