"""Who signed up: contacts, the lists they can join, their subscriptions and
the consent evidence behind each one.

`signups` never imports `mailings`: it announces confirmations, unsubscriptions,
suppressions and erasures through the signals in `signups.signals`.

One module per subject: lists (the lists and their pages' former addresses),
contacts (contacts, subscriptions and the rule of who may be mailed), consent (the
consent evidence, the signups awaiting confirmation, the suppressed addresses) and
answers (the open question's answers, the interview applications).
"""

from .answers import Answer, InterviewApplication
from .consent import Consent, ConsentQuerySet, PendingSignup, Suppression
from .contacts import (
    Contact,
    ContactQuerySet,
    Profile,
    Subscription,
    SubscriptionQuerySet,
    email_hash,
    mailable_contact,
    mailable_subscription,
)
from .lists import MailingList, PagePath

__all__ = [
    "Answer",
    "Consent",
    "ConsentQuerySet",
    "Contact",
    "ContactQuerySet",
    "InterviewApplication",
    "MailingList",
    "PagePath",
    "PendingSignup",
    "Profile",
    "Subscription",
    "SubscriptionQuerySet",
    "Suppression",
    "email_hash",
    "mailable_contact",
    "mailable_subscription",
]
