"""Organizers write to the people registered for an event."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext

from .. import audit, locks
from ..core import validation
from ..core.db import db
from ..core.errors import Conflict, NotFound, ValidationError
from ..core.transactions import write_transaction
from ..models import Event, Organizer, RegistrationStatus
from . import mails
from .queries import active

AUDIENCES = {
    "confirmed": RegistrationStatus.CONFIRMED,
    "waitlisted": RegistrationStatus.WAITLISTED,
}
MAX_BODY = 20_000


@dataclass(frozen=True)
class Sent:
    """How many people a message went to."""

    count: int
    audience: str


def send_to_registrants(event_id: int, audience: object, subject: object, body: object,
                        actor: Organizer | None) -> Sent:
    """Queue one mail per registrant of ``audience`` (confirmed or waitlisted).

    The subject is one line (no CR/LF, a header-injection vector), the body
    plain text; both are kept as typed and escaped by the mail's HTML part.
    All mails and the audit entry are written in one transaction: either
    everyone's mail is queued or nobody's.
    """
    if audience not in AUDIENCES:
        raise ValidationError(gettext("Choose who gets the message: confirmed or waiting."),
                              "audience")
    subject = validation.text(subject, "subject", max_length=200, required=True)
    body = validation.text(body, "body", max_length=MAX_BODY, required=True, multiline=True)
    with write_transaction(locks.event(event_id)):
        event = db.session.get(Event, event_id)
        if event is None:
            raise NotFound(gettext("No such event."))
        recipients = [r for r in active(event_id)
                      if r.status == AUDIENCES[audience]]
        if not recipients:
            raise Conflict(gettext("Nobody to send to: no registrant has this status."),
                           "audience")
        for registration in recipients:
            mails.message(registration, subject, body)
        audit.record(event, "message", "", f"{subject} (to {len(recipients)} {audience})",
                     actor)
    return Sent(len(recipients), audience)
