"""Any Django email backend, one message at a time (anymail without batch sending,
files, the test outbox)."""

from config.mail import REFUSED, RETRY, UNKNOWN, failure_outcome

from .. import rendering
from . import Outcomes, Transport, message_key, recipient_values


class DjangoBackendTransport(Transport):
    def send(self, chunk, messages, outcomes: Outcomes, handover) -> None:
        backend = self.backend
        make = rendering.recipient_values_maker()
        for index, row in enumerate(chunk):
            if not handover.reach(index):
                continue
            values = recipient_values(row, make)
            message = messages[message_key(row)].personal_message(values, connection=backend)
            try:
                backend.send_messages([message])
            except Exception as exc:
                outcome = failure_outcome(exc)
                if outcome == REFUSED:
                    outcomes.failed.append((row["id"], str(exc)))
                elif outcome == RETRY:
                    outcomes.retry.append((row["id"], row["attempts"], str(exc)))
                elif outcome == UNKNOWN:
                    outcomes.unknown.append((row["id"], str(exc)))
                    outcomes.untouched.extend(r["id"] for r in chunk[index + 1 :])
                    return
                else:
                    raise
            else:
                status = getattr(message, "anymail_status", None)
                esp_id = (status.message_id if status else None) or values["MSGID"]
                outcomes.sent.append((row["id"], str(esp_id).strip("<>")))
