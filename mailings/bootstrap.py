"""The starting sequences, read from seeds/sequences/<list slug>/NN-*.md.

Each file is one step: YAML front matter (subject, preheader, delay_hours,
optional window "HH:MM-HH:MM" and weekdays_only) then the Markdown body.
Existing sequences and steps are left as the editor changed them.
"""

import datetime as dt
from pathlib import Path

import yaml
from django.conf import settings
from django.db import transaction

from signups.models import MailingList

from .models import Sequence, Step

SEEDS = Path(settings.BASE_DIR) / "seeds" / "sequences"

SEQUENCES = (
    ("newsletter", "bienvenue-newsletter", "Bienvenue dans la newsletter"),
    (
        "atelier",
        "atelier-lire-dans-les-pensees",
        "Atelier « Comment lire dans les pensées de ses clients »",
    ),
    ("entretiens", "bienvenue-entretiens", "Bienvenue aux entretiens"),
)


def read_step(path: Path) -> dict:
    _before, front, body = path.read_text(encoding="utf-8").split("---", 2)
    meta = yaml.safe_load(front)
    spec = {
        "subject": meta["subject"],
        "preheader": meta.get("preheader", ""),
        "delay": dt.timedelta(hours=meta.get("delay_hours", 24)),
        "weekdays_only": bool(meta.get("weekdays_only", False)),
        "body": body.strip() + "\n",
    }
    if window := meta.get("window"):
        start, end = window.split("-")
        spec["window_start"] = dt.time.fromisoformat(start)
        spec["window_end"] = dt.time.fromisoformat(end)
    return spec


@transaction.atomic
def create_sequences(*, stdout) -> None:
    for list_slug, slug, name in SEQUENCES:
        mailing_list = MailingList.objects.filter(slug=list_slug).first()
        if mailing_list is None:
            continue
        sequence, created = Sequence.objects.get_or_create(
            slug=slug, defaults={"name": name, "mailing_list": mailing_list}
        )
        if not created:
            continue
        for position, path in enumerate(sorted((SEEDS / list_slug).glob("*.md")), start=1):
            Step.objects.create(sequence=sequence, position=position, **read_step(path))
        count = sequence.steps.count()
        stdout.write(f"  séquence créée : {name} ({count} e-mail{'s' if count > 1 else ''})")
