"""What `signups` announces; `mailings` listens (signups never imports mailings).

All are sent after the change is saved, inside the caller's transaction:
receivers that queue work must do so with `transaction.on_commit`.
"""

from django.dispatch import Signal

# kwargs: subscription
subscription_confirmed = Signal()
# kwargs: subscription, reason ("unsubscribed", "suppressed", "erased", ...)
subscription_ended = Signal()
# kwargs: contact, reason ("hard_bounce", "complaint", "erased", "manual", ...)
contact_suppressed = Signal()
