"""The mailings' copies of library internals (see config/fastpaths.py): each runs
only while `POULS_FASTPATHS` is on and names the upstream it mirrors.

- `tokens`: the unsubscribe and preference tokens of a batch, with Django's
  `Signer` HMAC keyed once per batch;
- `esp`: anymail's Mailgun and SendGrid payloads, built cheaply for a batch.
"""
