"""`manage.py mailing_check ID`: the pre-send checks of a mailing; exit status 1 when
something blocks (for scripts and CI of newsletters)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mailings.checks import mailing_check
from mailings.models import Mailing


class Command(BaseCommand):
    help = "Vérifie un mailing avant l’envoi ; code de sortie 1 si un problème bloque l’envoi."

    def add_arguments(self, parser):
        parser.add_argument("mailing_id", type=int)
        parser.add_argument(
            "--liens-externes",
            dest="external_links",
            action="store_true",
            default=None,
            help="Vérifier aussi les liens externes (requête HEAD), même si MAIL_CHECK_LINKS "
            "est désactivé.",
        )

    def handle(self, *args, mailing_id, external_links=None, **options):
        mailing = Mailing.objects.filter(pk=mailing_id).first()
        if mailing is None:
            raise CommandError(_("Aucun mailing n°%(id)s.") % {"id": mailing_id})
        report = mailing_check(mailing=mailing, external_links=external_links)
        self.stdout.write(f"« {mailing.subject} »")
        self.stdout.write(report.as_text())
        if not report.ok:
            raise SystemExit(1)
