"""What readers are sent: sequences and their steps, mailings (broadcasts), and
the outbox of deliveries — one row per (message, contact) — with the ESP events.

The database holds the schedule: a mailing is due when its `scheduled_at` has
passed, an enrolment when its `next_due_at` has; the beat tick finds both.

One module per concern: zones, content (what a message says: subject, preview line
and body, shared by mailings and steps), sequence (sequences, steps, enrolments),
mailing (mailings, their audience, A/B variants), delivery (the outbox rows and the
hand-over journal), event (what the ESP reports), reply (the replies inbox); the event
tallies live beside their code in mailings/tallies.py.
"""

from .content import MessageContent
from .delivery import Delivery, DeliveryQuerySet, Handover
from .event import Event
from .mailing import Mailing, MailingQuerySet, Variant, audience_contacts, audience_of
from .reply import Reply, ReplyAttachment, ReplyQuerySet
from .sequence import Enrolment, EnrolmentQuerySet, Sequence, Step
from .zones import TIME_ZONE_CHOICES, zone

# isort: split
# The tallies live beside their code, which imports the models above.
from ..tallies import EventTally

__all__ = [
    "TIME_ZONE_CHOICES",
    "Delivery",
    "DeliveryQuerySet",
    "Enrolment",
    "EnrolmentQuerySet",
    "Event",
    "EventTally",
    "Handover",
    "Mailing",
    "MailingQuerySet",
    "MessageContent",
    "Reply",
    "ReplyAttachment",
    "ReplyQuerySet",
    "Sequence",
    "Step",
    "Variant",
    "audience_contacts",
    "audience_of",
    "zone",
]
