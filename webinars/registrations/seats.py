"""Register, cancel and promote: capacity, the waiting list and idempotency.

The seat decision is made under the event's seat lock
(:func:`webinars.locks.seats`): count the confirmed rows, then insert, in one
transaction. The count of confirmed rows is the only truth about seats. The
event keeps one number beside the rows, the waiting list's length, stepped
in every transaction that moves someone onto or off the list, so that a
newcomer learns their place without the queue being counted under the lock.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext, lazy_gettext
from sqlalchemy.dialects import postgresql, sqlite

from .. import audit, locks
from ..core import clock, countries, languages, timezones, validation
from ..core.db import UTCDateTime, db
from ..core.errors import Conflict, NotFound, ValidationError
from ..core.roundtrip import run_with_commit
from ..core.transactions import after_commit, write_transaction
from ..mail import pump
from ..models import Admission, Event, EventStatus, Organizer, OutboxMessage, Registration
from ..reminders import planning
from . import invitations, mails, questions, verification
from .queries import (
    ARRIVAL,
    CANCELLED,
    CONFIRMED,
    DECLINED,
    PENDING,
    WAITLISTED,
    Seats,
    by_token,
    can_promote,
    confirmed_count,
    first_waiting,
    is_open,
    open_clause,
    open_now,
    seats,
    verifies_clause,
    verifies_email,
    verify_rule,
    waitlist_position,
)


@dataclass(frozen=True)
class Applicant:
    """A validated registration request."""

    name: str
    email: str
    organization: str
    country: str
    timezone: str
    language: str
    #: The answers to the event's questions: as sent until checked against
    #: them (webinars.registrations.questions), then as kept.
    answers: dict = field(default_factory=dict)
    #: The token of the invitation link the form was opened from, if any.
    invitation: str | None = None


def read_applicant(data: object) -> Applicant:
    """Validate what a person submitted; ValidationError names the first bad field."""
    if not isinstance(data, dict):
        raise ValidationError(gettext("Expected the registration fields."), None)
    name = validation.text(data.get("name"), "name", max_length=200, required=True)
    email = validation.email(data.get("email"))
    organization = validation.text(data.get("organization"), "organization", max_length=200)
    country = data.get("country") or ""
    if not isinstance(country, str) or (country not in countries.codes() and country != ""):
        raise ValidationError(gettext(
            "Choose a country from the list (an ISO 3166 code such as KH)."), "country")
    zone = timezones.zone_name(data.get("timezone") or "UTC")
    # Unsaid: the language the person is reading the form or the API's answers in.
    language = languages.language(data.get("language") or languages.current())
    answers = data.get("answers")
    if answers is not None and not isinstance(answers, dict):
        raise ValidationError(gettext("Expected an object of answers by question key."),
                              "answers")
    invitation = data.get("invitation")
    return Applicant(name, email, organization, country, zone, language, answers or {},
                     invitation if validation.is_token(invitation) else None)


#: A repeat mails the existing registration's link at most this often.
MANAGE_LINK_EVERY = timedelta(minutes=15)


@dataclass(frozen=True)
class CheckInbox:
    """The answer that tells nothing: what happens next is in the address's inbox.

    Given when the event verifies addresses (the inbox gets the link that
    confirms the request) and to every repeat (the inbox gets the link to
    the existing registration): whoever typed the address may not own it,
    so the token, the name and the rest are mailed, never answered, and a
    new address and a registered one get the same words.
    """

    event_slug: str

    #: The words of this answer at every door, the same whatever the inbox gets.
    MESSAGE = lazy_gettext(
        "Check your inbox: we have sent a message to this address. Open its link to confirm "
        "your registration (or to see it, if the address was registered already).")


@dataclass(frozen=True)
class Registered:
    """The answer to a registration call, read from the statement that decided it.

    Carries the registration's public fields (the same names as
    :class:`~webinars.models.Registration`'s) and its place on the waiting
    list. Only ever for a new registration, a cancelled one reopened, or
    one whose address was just confirmed: anything else gets
    :class:`CheckInbox`.
    """

    id: int
    token: str
    status: str
    waitlist_position: int | None
    event_slug: str
    name: str
    email: str
    organization: str
    country: str
    timezone: str
    language: str
    answers: dict
    created_at: datetime


def register(slug: str, data: object, *, actor: str | None = None) -> Registered | CheckInbox:
    """Confirm a seat or join the waiting list; the decision is one locked statement.

    The common case, a new address for an open event that does not verify
    addresses, is three statements
    sent with their COMMIT in one round trip (:mod:`webinars.core.roundtrip`):
    take the event's seat lock by its slug; insert the row with its status
    decided by the count of confirmed rows in the same statement (``INSERT
    ... SELECT ... ON CONFLICT DO NOTHING RETURNING``); step onto the waiting
    list if that is where it went (the new length is the newcomer's place).
    No Python runs while the lock is held, and no ORM object is loaded.
    The mail and a confirmed seat's reminders follow from ``notice_due``
    (:mod:`webinars.registrations.notices`). Anything else (an event that
    verifies addresses, the same address again, a cancelled registration
    coming back, a closed or unknown event) is sorted out by
    :func:`_register_again` under the same lock.

    ``actor`` names an operator who registers someone by hand (the command
    line): they vouch for the address, so it is not verified, and the
    audit trail says who added the person.
    """
    if not validation.is_slug(slug):  # see events.queries.get_event
        raise NotFound("No such event.")
    applicant = read_applicant(data)
    if actor is not None or applicant.answers or applicant.invitation:
        return _register_again(slug, applicant, actor=actor)
    params = _decision_parameters(slug, applicant)
    with write_transaction(own_connection=True) as conn:
        _, decided, stepped = run_with_commit(conn, [
            (locks.SEATS_BY_SLUG, {"slug": slug}),
            (_decision_statement(conn.dialect.name, verify_rule()), params),
            (_STEP_NEWCOMER, params)])
        if decided:
            # The row's notice_due is the promise of mail: deliver it after the commit.
            after_commit(pump.wake)
    if not decided:
        return _register_again(slug, applicant)
    return _answer_new(decided[0], stepped, slug, applicant, params)


def confirm_address(token: str) -> Registered:
    """The mailed link was opened and confirmed: now decide the seat, as for a newcomer.

    Whoever holds the link reads the address's mail, so the answer is the
    registration itself, also when the address was registered meanwhile
    (another request confirmed first, or the same link twice). The
    address's other requests are settled in the same transaction.
    NotFound for a link that is unknown, used or expired.
    """
    request = verification.pending(token)
    slug, key = request.event.slug, request.email_key
    applicant = Applicant(request.name, request.email, request.organization, request.country,
                          request.timezone, request.language, request.answers or {})
    with write_transaction() as conn:
        event = conn.execute(locks.SEATS_BY_SLUG, {"slug": slug}).one_or_none()
        existing = db.session.scalar(sa.select(Registration).where(
            Registration.event_id == request.event_id, Registration.email_key == key))
        verification.settle(request.event_id, key)
        if existing is not None and existing.status != CANCELLED:
            return _answer(existing, slug)
        if event is None or not open_now(event.status, event.registration_closes_at,
                                         event.starts_at, event.ends_at):
            raise _closed(event.status if event is not None else EventStatus.CANCELLED)
        rules = db.session.get(Event, event.id)
        invited = invitations.admit(rules, applicant.email) is not None
        applicant = replace(applicant, answers=_answers_still_good(rules, applicant.answers))
        answer = _decide(conn, slug, applicant, existing, rules,
                         admitted=invited and rules.admit_invited)
    return answer


def _decision_parameters(slug: str, applicant: Applicant) -> dict:
    return {"slug": slug, "tok": secrets.token_urlsafe(24), "who": applicant.name,
            "addr": applicant.email, "addr_key": applicant.email.lower(),
            "org": applicant.organization, "ctry": applicant.country,
            "zone": applicant.timezone, "lang": applicant.language, "now": clock.now()}


def _answer_new(decided, stepped, slug: str, applicant: Applicant, params: dict) -> Registered:
    return Registered(
        id=decided.id, token=params["tok"], status=decided.status,
        event_slug=slug,
        waitlist_position=stepped[0].waitlist_length if decided.status == WAITLISTED else None,
        name=applicant.name, email=applicant.email, organization=applicant.organization,
        country=applicant.country, timezone=applicant.timezone, language=applicant.language,
        answers=applicant.answers, created_at=decided.created_at)


def _register_again(slug: str, applicant: Applicant, *,
                    actor: str | None = None) -> Registered | CheckInbox:
    """The uncommon cases, one statement at a time under the seat lock.

    Here too are the events that ask more than the fast path can: their own
    questions, approval, invitations. An invitation link opened by its
    addressee proves the address as a confirmed request would.
    """
    with write_transaction() as conn:
        event = conn.execute(locks.SEATS_BY_SLUG, {"slug": slug}).one_or_none()
        if event is None or event.status == EventStatus.DRAFT:
            raise NotFound(gettext("No such event."))
        rules = db.session.get(Event, event.id)
        invitation = invitations.admit(rules, applicant.email)
        applicant = replace(applicant, answers=questions.read_answers(rules.questions or [],
                                                                      applicant.answers))
        existing = db.session.scalar(sa.select(Registration).where(
            Registration.event_id == event.id,
            Registration.email_key == applicant.email.lower()))
        if existing is not None and existing.status != CANCELLED:
            _mail_manage_link(existing)
            return CheckInbox(slug)
        if not open_now(event.status, event.registration_closes_at, event.starts_at,
                        event.ends_at):
            raise _closed(event.status)
        proven = invitation is not None and applicant.invitation == invitation.token
        if actor is None and not proven and _must_verify(rules, invitation):
            verification.request(event.id, applicant)
            return CheckInbox(slug)
        answer = _decide(conn, slug, applicant, existing, rules, admitted=actor is not None or (
            invitation is not None and rules.admit_invited))
        if actor is not None:
            audit.record(db.session.get(Event, event.id), status_field(answer), "",
                         str(answer.status), actor)
    return answer


def _must_verify(event: Event, invitation) -> bool:
    """The address must be proven before anything is decided.

    Where the event verifies addresses, and, whatever it says, where being
    invited (or in an allowed domain) is what admits someone: typing an
    invitee's address, or a made-up one in a listed domain, must not be
    enough. An invitation link opened by its addressee is proof already.
    """
    return verifies_email(event) or event.invite_only or (
        invitation is not None and event.admit_invited
        and event.admission == Admission.APPROVAL)


def _decide(conn, slug: str, applicant: Applicant, existing: Registration | None,
            event: Event, *, admitted: bool) -> Registered:
    """Seat a newcomer (or a cancelled registration come back), under the caller's seat lock.

    An event that admits by approval takes the application as pending,
    unless the person is ``admitted`` already (added by an operator, or
    invited where invitations admit).
    """
    reviewed = event.admission == Admission.APPROVAL and not admitted
    if existing is not None:
        _reopen(existing, applicant, event.capacity, pending=reviewed)
        return _answer(existing, slug)
    if reviewed:
        return _answer(_apply(event.id, applicant), slug)
    # The event opened, or the address was freed, since the first try.
    params = _decision_parameters(slug, applicant)
    decided = conn.execute(_decision_statement(conn.dialect.name, None), params).one_or_none()
    if decided is None:  # its deadline passed a moment ago
        raise _closed(EventStatus.PUBLISHED)
    if applicant.answers:  # the fast path's statement has none to keep
        conn.execute(sa.update(Registration).where(Registration.id == decided.id)
                     .values(answers=applicant.answers))
    stepped = conn.execute(_STEP_NEWCOMER, params).all()
    after_commit(pump.wake)
    return _answer_new(decided, stepped, slug, applicant, params)


def _answers_still_good(event: Event, answers: dict) -> dict:
    """A request's answers, checked again against the questions as they are now.

    The organizer may have changed the form since the request was made:
    answers to questions since removed are dropped; a question now required
    and unanswered sends the person back to the form (Conflict).
    """
    current = event.questions or []
    keys = {q["key"] for q in current}
    try:
        return questions.read_answers(current, {k: v for k, v in answers.items() if k in keys})
    except ValidationError:
        raise Conflict(gettext("The registration form changed since you filled it in. "
                               "Please register again on the event's page.")) from None


def _apply(event_id: int, applicant: Applicant) -> Registration:
    """An application that waits for an organizer: no seat, and its mail is due."""
    now = clock.now()
    registration = Registration(
        event_id=event_id, token=secrets.token_urlsafe(24), status=PENDING,
        name=applicant.name, email=applicant.email, email_key=applicant.email.lower(),
        organization=applicant.organization, country=applicant.country,
        timezone=applicant.timezone, language=applicant.language, answers=applicant.answers,
        queued_at=now, created_at=now, notice_due=True)
    db.session.add(registration)
    db.session.flush()
    after_commit(pump.wake)
    return registration


def _mail_manage_link(registration: Registration) -> None:
    recent = db.session.scalar(sa.select(OutboxMessage.id).where(
        OutboxMessage.registration_id == registration.id, OutboxMessage.kind == "manage-link",
        OutboxMessage.created_at > clock.now() - MANAGE_LINK_EVERY).limit(1))
    if recent is None:  # one a quarter of an hour: a repeat loop mails no flood
        mails.manage_link(registration)
        after_commit(pump.wake)


def _answer(registration: Registration, slug: str) -> Registered:
    return Registered(
        id=registration.id, token=registration.token, status=registration.status,
        waitlist_position=waitlist_position(registration), event_slug=slug,
        name=registration.name, email=registration.email,
        organization=registration.organization, country=registration.country,
        timezone=registration.timezone, language=registration.language,
        answers=registration.answers or {}, created_at=registration.created_at)


# The waiting list's length is bookkeeping, not a change of the event: it
# must not bump updated_at, which calendars see as Last-Modified and ETag.
_UNCHANGED_EVENT = {"updated_at": Event.updated_at}


@functools.cache
def _decision_statement(dialect: str, verify: str | None):
    """The seat rule: confirmed while fewer confirmed rows than seats, else waiting.

    Inserts nothing when the event is not open (the rule of
    :func:`~webinars.registrations.queries.open_now`, in SQL) or the address
    is registered already, nor, under the installation's verification rule
    ``verify`` (None: the address is known to be good), when the event
    verifies addresses. The statement runs after
    the lock was granted (on PostgreSQL the next statement of the string),
    so under READ COMMITTED its snapshot sees every seat committed before.
    The new row's times are never before the last one waiting: ``now`` was
    read before the lock, and the queue's order must be the order in which
    the lock let people in, which the kept length counts.
    """
    moment = sa.bindparam("now", type_=UTCDateTime())
    conditions = [Event.slug == sa.bindparam("slug"), open_clause(moment)]
    if verify is not None:
        # The fast path: nor when the event asks questions, reviews or invites.
        conditions += [sa.not_(verifies_clause(verify)), Event.admission == Admission.OPEN,
                       sa.not_(Event.invite_only),
                       sa.func.json_array_length(Event.questions) == 0]
    event = sa.select(Event.id, Event.capacity).where(*conditions).subquery("event")
    # Counted once, in a FROM subquery: status and confirmed_at both read it.
    seats = (sa.select(sa.func.count().label("taken"))
             .where(Registration.event_id == event.c.id, Registration.status == CONFIRMED)
             .subquery("seats"))
    last_waiting = (sa.select(sa.func.max(Registration.queued_at))
                    .where(Registration.event_id == event.c.id,
                           Registration.status == WAITLISTED)
                    .scalar_subquery())
    status = sa.case((sa.or_(event.c.capacity.is_(None), seats.c.taken < event.c.capacity),
                      CONFIRMED), else_=WAITLISTED)
    in_line = sa.case((last_waiting > moment, last_waiting), else_=moment)
    columns = {
        "event_id": event.c.id, "token": sa.bindparam("tok"),
        "name": sa.bindparam("who"), "email": sa.bindparam("addr"),
        "email_key": sa.bindparam("addr_key"), "organization": sa.bindparam("org"),
        "country": sa.bindparam("ctry"), "timezone": sa.bindparam("zone"),
        "language": sa.bindparam("lang"), "status": status, "queued_at": in_line,
        # None yet: answers are kept by _decide (this statement's first round trip
        # sends its parameters as they are, and a dict is no SQL value).
        "answers": sa.literal_column("'{}'"),
        "created_at": in_line,
        "confirmed_at": sa.case((status == CONFIRMED, in_line), else_=sa.null()),
        "notice_due": sa.true(),
    }
    # SQLite needs a WHERE in INSERT ... SELECT ... ON CONFLICT to parse it.
    rows = (sa.select(*[value.label(name) for name, value in columns.items()])
            .select_from(event.join(seats, sa.true())).where(sa.true()))
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Registration)
    return (insert.from_select(list(columns), rows)
            .on_conflict_do_nothing(index_elements=["event_id", "email_key"])
            .returning(Registration.id, Registration.status, Registration.created_at))


# The newcomer's step onto the waiting list: nothing when the row just
# inserted (found by its new token) was confirmed, or not inserted at all.
_STEP_NEWCOMER = (sa.update(Event)
                  .where(Event.id == sa.select(Registration.event_id).where(
                      Registration.token == sa.bindparam("tok"),
                      Registration.status == WAITLISTED).scalar_subquery())
                  .values(waitlist_length=Event.waitlist_length + 1, **_UNCHANGED_EVENT)
                  .returning(Event.waitlist_length))

# One step onto (+1) or off (-1) the waiting list, in the caller's locked
# transaction; returns the new length, which is a newcomer's place.
_STEP_WAITLIST = (sa.update(Event).where(Event.id == sa.bindparam("event"))
                  .values(waitlist_length=Event.waitlist_length + sa.bindparam("step"),
                          **_UNCHANGED_EVENT)
                  .returning(Event.waitlist_length))


def _step_waitlist(event_id: int, step: int) -> int:
    return db.session.connection().execute(
        _STEP_WAITLIST, {"event": event_id, "step": step}).scalar_one()


def _reopen(registration: Registration, applicant: Applicant, capacity: int | None, *,
            pending: bool = False) -> None:
    """A cancelled registration comes back, at the back of the queue (or to be reviewed)."""
    now = clock.now()
    free = Seats(confirmed_count(registration.event_id), 0, capacity).free
    status = PENDING if pending else CONFIRMED if free else WAITLISTED
    registration.name = applicant.name
    registration.email = applicant.email
    registration.organization = applicant.organization
    registration.country = applicant.country
    registration.timezone = applicant.timezone
    registration.language = applicant.language
    registration.answers = applicant.answers
    registration.status = status
    registration.queued_at = now
    registration.confirmed_at = now if status == CONFIRMED else None
    registration.cancelled_at = None
    registration.notice_due = True
    db.session.flush()
    after_commit(pump.wake)
    if status == WAITLISTED:
        _step_waitlist(registration.event_id, +1)


def cancel(token: str, *, actor: Organizer | str | None = None) -> Registration:
    """Cancel a registration; a freed seat goes to the first person waiting.

    ``actor`` is the organizer (or the operator, by its
    :func:`~webinars.audit.record` label) who cancelled it, recorded in the
    audit trail; None when the registrant cancelled their own.
    """
    event_id = by_token(token).event_id
    with write_transaction(locks.seats(event_id)):
        registration = by_token(token)
        withdraw(registration, actor=actor)
    return registration


def withdraw(registration: Registration, *, actor: Organizer | str | None = None,
             tell: bool = True) -> None:
    """:func:`cancel`'s work, in the caller's transaction holding the seat lock.

    ``tell``: mail the registrant (not when their data is being erased).
    """
    if registration.status in (CANCELLED, DECLINED):  # a declined one stays declined
        return
    was_confirmed = registration.status == CONFIRMED
    if registration.status == WAITLISTED:
        _step_waitlist(registration.event_id, -1)
    if actor is not None:
        audit.record(registration.event, status_field(registration),
                     str(registration.status), str(CANCELLED), actor)
    registration.status = CANCELLED
    registration.cancelled_at = clock.now()
    registration.notice_due = False  # nothing left to confirm
    db.session.flush()
    planning.drop(registration.id)
    if tell:
        mails.cancelled(registration, was_confirmed=was_confirmed,
                        by_organizer=actor is not None)
    if was_confirmed:
        fill_free_seats(registration.event)


def fill_free_seats(event: Event) -> list[Registration]:
    """Promote people from the waiting list, in order, while seats are free.

    Call inside a write transaction holding the event's seat or event lock.
    Registration
    must still be open: nobody is promoted into an event that is cancelled or
    has started.
    """
    if event.status != EventStatus.PUBLISHED or not is_open(event):
        return []
    now = seats(event)
    free = now.waiting if now.left is None else min(now.left, now.waiting)
    if free <= 0:
        return []
    promoted = first_waiting(event.id, free)
    for registration in promoted:
        _confirm_from_waiting_list(registration)
    return promoted


def promote(token: str, actor: Organizer | None = None) -> Registration:
    """Give a free seat to one person on the waiting list, chosen by an organizer.

    Unlike :func:`fill_free_seats` this may skip the queue, and it works after
    registration has closed (that is when seats freed by cancellations stay
    free), but not once the event has ended. Conflict when nobody's seat is
    free: the organizer must raise the capacity first, since nobody is bumped.
    """
    event_id = by_token(token).event_id
    with write_transaction(locks.seats(event_id)):
        registration = by_token(token)
        event = registration.event
        if registration.status != WAITLISTED:
            raise Conflict(f"{registration.name} is not on the waiting list.")
        if not can_promote(event):
            raise Conflict("This event is not published; nobody can be moved up."
                           if event.status != EventStatus.PUBLISHED else "This event has ended.")
        if not seats(event).free:
            raise Conflict(
                f"All {event.capacity} seats are taken. Raise the capacity first to let "
                f"{registration.name} in from the waiting list.", "capacity")
        audit.record(event, status_field(registration), str(WAITLISTED), str(CONFIRMED),
                     actor)
        _confirm_from_waiting_list(registration)
    return registration


@dataclass(frozen=True)
class Decision:
    """What :func:`approve` or :func:`decline` did to the registrations it was given."""

    decided: list[Registration]
    #: Not pending (decided already, by someone else or earlier): left as they were.
    skipped: list[Registration]


def approve(event_id: int, registration_ids: list[int], actor: Organizer | str | None
            ) -> Decision:
    """Admit pending applications: each takes a seat as a newcomer would, under the seat lock.

    A seat while one is free, else the back of the waiting list: seats and
    places go in the order of approval, and within one call in the order
    people applied. Two organizers approving the same people at once are let
    in by the lock one call at a time; whoever comes second finds those
    decided already and leaves them (``skipped``).
    Works after registration has closed (nominations are reviewed then),
    not once the event is over or unpublished (Conflict).
    """
    with write_transaction(locks.seats(event_id)):
        event = db.session.get(Event, event_id)
        if event is None or not can_promote(event):
            raise Conflict(gettext("This event is over or not published; nobody can be "
                                   "admitted."))
        rows, skipped = _applications(event_id, registration_ids)
        counted = seats(event)
        # Nobody jumps the queue: with people waiting (a seat freed after
        # registration closed), the approved join the back of it.
        left = 0 if counted.waiting else counted.left
        # After everyone waiting, whatever this process's clock says (another
        # process may have read a later "now" before it took the lock).
        last = _last_waiting(event_id)
        moment = clock.now() if last is None else max(clock.now(),
                                                       last + timedelta(microseconds=1))
        for n, registration in enumerate(rows):
            seated = left is None or left > 0
            registration.status = CONFIRMED if seated else WAITLISTED
            # Joins the queue now, in the order of this call (ARRIVAL breaks ties by id).
            registration.queued_at = moment + timedelta(microseconds=n)
            registration.notice_due = False  # the answer below says all the notice would
            if seated:
                registration.confirmed_at = registration.queued_at
                left = None if left is None else left - 1
            audit.record(event, status_field(registration), str(PENDING),
                         str(registration.status), actor)
        db.session.flush()
        for registration in rows:
            if registration.status == CONFIRMED:
                planning.plan(registration)
            else:
                _step_waitlist(event_id, +1)
        for registration in rows:
            mails.approved(registration)
        if rows:
            after_commit(pump.wake)
    return Decision(rows, skipped)


def decline(event_id: int, registration_ids: list[int], actor: Organizer | str | None
            ) -> Decision:
    """Decline pending applications: a short, polite mail each; no seat was held."""
    with write_transaction(locks.seats(event_id)):
        event = db.session.get(Event, event_id)
        if event is None:
            raise NotFound(gettext("No such event."))
        rows, skipped = _applications(event_id, registration_ids)
        for registration in rows:
            audit.record(event, status_field(registration), str(PENDING), str(DECLINED),
                         actor)
            registration.status = DECLINED
            registration.cancelled_at = clock.now()
            registration.notice_due = False
        db.session.flush()
        for registration in rows:
            mails.declined(registration)
        if rows:
            after_commit(pump.wake)
    return Decision(rows, skipped)


def _applications(event_id: int, ids: list[int]) -> tuple[list[Registration], list[Registration]]:
    given = list(db.session.scalars(
        sa.select(Registration)
        .where(Registration.event_id == event_id, Registration.id.in_(set(ids)))
        .order_by(*ARRIVAL)))
    return ([r for r in given if r.status == PENDING],
            [r for r in given if r.status != PENDING])


def _last_waiting(event_id: int) -> datetime | None:
    return db.session.scalar(sa.select(sa.func.max(Registration.queued_at)).where(
        Registration.event_id == event_id, Registration.status == WAITLISTED))


def _confirm_from_waiting_list(registration: Registration) -> None:
    # Inside the caller's locked transaction: the seat, the reminders and the mail together.
    _step_waitlist(registration.event_id, -1)
    registration.status = CONFIRMED
    registration.confirmed_at = clock.now()
    registration.notice_due = False  # the promotion mail says all a pending notice would
    db.session.flush()
    planning.plan(registration)
    mails.promoted(registration)


def status_field(registration: Registration) -> str:
    """The audit trail's name for a registration's status."""
    return f"registrations[{registration.id}].status"


def check_capacity(event: Event, capacity: int | None) -> None:
    """Refuse a capacity below the seats already taken: nobody is ever bumped."""
    if capacity is None:
        return
    taken = confirmed_count(event.id)
    if capacity < taken:
        raise ValidationError(
            f"{taken} seats are taken already; the capacity cannot go below that. "
            "Cancel registrations first if you must.",
            "capacity",
        )


def _closed(status: str) -> Conflict:
    if status == EventStatus.CANCELLED:
        return Conflict("This event is cancelled; registration is closed.")
    return Conflict("Registration for this event has closed.")


