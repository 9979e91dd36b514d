"""What `signups` announces; `mailings` listens (signups never imports mailings).

All are sent after the change is saved, inside the caller's transaction:
receivers that queue work must do so with `transaction.on_commit`.
"""

from django.dispatch import Signal

# kwargs: subscription
subscription_confirmed = Signal()
# kwargs: subscription, reason ("unsubscribed", "suppressed", "erased", ...)
subscription_ended = Signal()
# kwargs: contact_ids (the contacts just stopped: one or a webhook's batch),
# reason ("hard_bounce", "complaint", "soft_bounces", "manual", ...)
contacts_suppressed = Signal()
# kwargs: contact. Receivers return {"<section>": <JSON-serialisable data>} to add
# their own records (deliveries, events, ...) to the contact's data export.
contact_exporting = Signal()
# kwargs: contact (before its personal data is wiped). Receivers remove or anonymise
# what they hold about the contact; pending sends are cancelled.
contact_erased = Signal()
# kwargs: mailing_list. Receivers return how many emails the list's welcome sequences
# send a newly confirmed reader (the import page says what enrolling would send).
welcome_emails_count = Signal()
# kwargs: contact. Receivers return the reader's sequences for the preference centre,
# a list of dicts: "id", "name", "sent" (steps sent), "total" (steps), "paused" (bool),
# "can_pause" (bool: running, with steps to come), "next_at" (datetime or None).
contact_sequences = Signal()
# kwargs: contact, sequence_id, pause (True: pause, False: resume). The receiver pauses
# or resumes the reader in that sequence and returns {"mailing_list", "sequence"} (the
# list it belongs to, its name) when it changed something, else None.
sequence_pause_requested = Signal()
