"""Invitations: who an event invited, who may register for an invite-only event, the import.

An organizer pastes or uploads a list (name, email, and optionally language
and country). :func:`invite` first plans it, row by row (new, invited
already, registered already, or a bad row and why), and a dry run stops
there; the real run writes the new invitations and queues their mails in
one transaction, so that it is all or nothing, and refuses with Conflict
when the plan it would carry out is not the one the organizer was shown
(``expect``: :attr:`Plan.digest`). An address is invited once per event
(Invitation's unique key), so importing again mails nobody twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from dataclasses import asdict, dataclass, field

import sqlalchemy as sa
from flask_babel import gettext, lazy_gettext

from .. import audit, locks
from ..core import clock, countries, languages, validation
from ..core.db import db
from ..core.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound
from ..core.transactions import after_commit, write_transaction
from ..mail import pump
from ..models import Event, EventStatus, Invitation, Organizer, Registration, RegistrationStatus
from . import mails

MAX_ROWS = 2000
#: The columns of an import, in the order a file without a header row gives them.
COLUMNS = ("name", "email", "language", "country")

#: What the import does with a row, as the preview names it.
OUTCOMES = {
    "new": lazy_gettext("Will be invited"),
    "invited": lazy_gettext("Invited already: not mailed again"),
    "registered": lazy_gettext("Registered already: not invited"),
    "invalid": lazy_gettext("Not imported"),
}

#: What an address the event did not invite is told, at every door.
NOT_INVITED = lazy_gettext(
    "This event is by invitation only, and this address was not invited. If you were "
    "nominated, use the address your invitation was sent to, or ask the organizers.")


def find(event_id: int, email: str) -> Invitation | None:
    """This address's invitation to this event, if it has one."""
    return db.session.scalar(sa.select(Invitation).where(
        Invitation.event_id == event_id, Invitation.email_key == email.lower()))


def by_token(event_id: int, token: object) -> Invitation | None:
    """The invitation whose link carried ``token``, if it is one of this event's."""
    if not validation.is_token(token):
        return None
    return db.session.scalar(sa.select(Invitation).where(
        Invitation.event_id == event_id, Invitation.token == token))


def by_link(token: str) -> Invitation:
    """The invitation behind a mailed link, or NotFound."""
    invitation = None
    if validation.is_token(token):
        invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token == token))
    if invitation is None:
        raise NotFound(gettext("No invitation with this link. It may have been mistyped."))
    return invitation


def in_allowed_domain(event: Event, email: str) -> bool:
    """The address is in one of the event's domains, or a subdomain of one."""
    domain = email.rpartition("@")[2].lower()
    return any(domain == allowed or domain.endswith("." + allowed)
               for allowed in event.allowed_domains or [])


def admit(event: Event, email: str) -> Invitation | None:
    """Who may register: anyone, unless invite-only; returns the address's invitation.

    Forbidden (403) for an address an invite-only event neither invited
    nor allows by its domain.
    """
    invitation = find(event.id, email)
    if event.invite_only and invitation is None and not in_allowed_domain(event, email):
        raise Forbidden(str(NOT_INVITED), "email")
    return invitation


@dataclass(frozen=True)
class Row:
    """One row of an import and what it does (or would do)."""

    line: int
    name: str
    email: str
    language: str
    country: str
    outcome: str  # a key of OUTCOMES
    reason: str = ""


@dataclass(frozen=True)
class Plan:
    """What an import does, row by row; ``digest`` names this exact plan."""

    rows: list[Row] = field(default_factory=list)
    done: bool = False

    @property
    def digest(self) -> str:
        """A fingerprint of what the rows do: the real run must match the preview's."""
        shown = [(r.line, r.email.lower(), r.outcome) for r in self.rows]
        return hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:32]

    def count(self, outcome: str) -> int:
        """How many rows have this outcome."""
        return sum(1 for row in self.rows if row.outcome == outcome)

    def as_dict(self) -> dict:
        """The API's answer."""
        return {"dry_run": not self.done, "plan": self.digest,
                "counts": {key: self.count(key) for key in OUTCOMES},
                "rows": [asdict(row) for row in self.rows]}


def read_csv(text: object) -> list[dict]:
    """The rows of a pasted or uploaded list: a header row names the columns, else COLUMNS."""
    if not isinstance(text, str):
        raise BadRequest(gettext("Expected the list as text (CSV)."))
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        lines = list(reader)
    except csv.Error:  # a quote never closed, a cell longer than any name
        raise BadRequest(gettext("The list cannot be read as CSV near line %(line)s: check "
                                 "its quotes.", line=reader.line_num)) from None
    lines = [line for line in lines if any(cell.strip() for cell in line)]
    if not lines:
        raise BadRequest(gettext("The list is empty."))
    header = [cell.strip().lower() for cell in lines[0]]
    if "email" in header:
        names, lines = header, lines[1:]
        first = 2
    else:
        names, first = list(COLUMNS), 1
    return [dict(zip(names, line, strict=False)) | {"_line": n}
            for n, line in enumerate(lines, start=first)]


def invite(event_id: int, invitees: object, *, dry_run: bool,
           actor: Organizer | str | None, expect: str | None = None) -> Plan:
    """Plan an import and, unless ``dry_run``, carry it out in one transaction.

    ``invitees`` is a list of {name, email, language?, country?}. With
    ``expect``, the real run refuses (Conflict) when the plan differs from
    the one with that digest: someone registered, or was invited, since
    the preview.
    """
    if not isinstance(invitees, list):
        raise BadRequest(gettext("Expected a list of invitees."))
    if len(invitees) > MAX_ROWS:
        raise BadRequest(gettext("At most %(num)s people in one list, please.", num=MAX_ROWS))
    if dry_run:  # a preview reads; it holds no lock
        return _plan(_invitable(db.session.get(Event, event_id)), invitees)
    # The event's lock, not the seat lock: registrations go on while the
    # mails are composed. Someone who registers meanwhile may get an
    # invitation too, which is harmless; ``expect`` catches the rest.
    with write_transaction(locks.event(event_id)):
        event = _invitable(db.session.get(Event, event_id))
        plan = _plan(event, invitees)
        if expect is not None and expect != plan.digest:
            raise Conflict(gettext("The list changed since the preview (someone registered or "
                                   "was invited meanwhile). Check the new preview."))
        now = clock.now()
        new = [Invitation(event_id=event_id, token=secrets.token_urlsafe(24), name=row.name,
                          email=row.email, email_key=row.email.lower(), country=row.country,
                          language=row.language, created_at=now, mailed_at=now)
               for row in plan.rows if row.outcome == "new"]
        db.session.add_all(new)
        db.session.flush()
        for invitation in new:
            mails.invited(invitation)
        if new:
            audit.record(event, "invitations", "", f"{len(new)} invited", actor)
            after_commit(pump.wake)
    return Plan(plan.rows, done=True)


def _invitable(event: Event) -> Event:
    """The event, if people can be invited to it now; Conflict otherwise."""
    if event.status != EventStatus.PUBLISHED or event.has_ended(clock.now()):
        raise Conflict(gettext("Invitations go out for a published event that is not over: "
                               "publish the event first."))
    return event


def _plan(event: Event, invitees: list) -> Plan:
    invited = set(db.session.scalars(sa.select(Invitation.email_key).where(
        Invitation.event_id == event.id)))
    registered = set(db.session.scalars(sa.select(Registration.email_key).where(
        Registration.event_id == event.id,
        Registration.status != RegistrationStatus.CANCELLED)))
    rows, seen = [], set()
    for n, item in enumerate(invitees, start=1):
        line = item.get("_line", n) if isinstance(item, dict) else n
        row = _row(item, line, event)
        key = row.email.lower()
        if row.outcome == "new":
            if key in seen:
                row = _bad(row, gettext("This address is on the list twice; the first row is "
                                        "the one imported."))
            elif key in registered:
                row = Row(**(asdict(row) | {"outcome": "registered"}))
            elif key in invited:
                row = Row(**(asdict(row) | {"outcome": "invited"}))
            seen.add(key)
        rows.append(row)
    return Plan(rows)


def _row(item: object, line: int, event: Event) -> Row:
    if not isinstance(item, dict):
        return Row(line, "", "", "", "", "invalid", gettext("Expected name and email."))
    raw = {key: item.get(key) if isinstance(item.get(key), str) else "" for key in COLUMNS}
    shown = {key: (value if isinstance(value, str) else "")[:254]
             for key, value in raw.items()}
    row = Row(line, shown["name"], shown["email"], shown["language"], shown["country"], "new")
    try:
        name = validation.text(raw["name"], "name", max_length=200, required=True)
        email = validation.email(raw["email"])
        language = languages.language((raw["language"] or "").strip().lower()
                                      or event.language)
        country = (raw["country"] or "").strip().upper()
        if country and country not in countries.codes():
            raise DomainError(gettext("Unknown country code %(code)s.", code=country[:8]))
    except DomainError as exc:
        what = {"name": gettext("Name"), "email": gettext("Email"),
                "language": gettext("Language")}.get(exc.field or "", "")
        return _bad(row, f"{what}: {exc.message}" if what else exc.message)
    return Row(line, name, email, language, country, "new")


def _bad(row: Row, reason: str) -> Row:
    return Row(**(asdict(row) | {"outcome": "invalid", "reason": reason}))


def invitations_of(event_id: int) -> list[Invitation]:
    """An event's invitations, in the order they were made."""
    return list(db.session.scalars(sa.select(Invitation).where(
        Invitation.event_id == event_id).order_by(Invitation.id)))
