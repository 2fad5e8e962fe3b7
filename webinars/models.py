"""The data model.

Times: every instant is stored in UTC through :class:`UTCDateTime`, which
hands back aware datetimes whatever the database keeps. A session also keeps
the wall-clock time the organizer typed, in the event's zone: that is the
intent. When a zone's rules change (a tzdata update, a country dropping DST),
the wall clock wins and the UTC instant is recomputed from it
(``flask --app webinars refresh-timezones``,
:func:`webinars.events.service.refresh_timezones`), because "10 PM in Washington" is
what was announced; the UTC columns exist so that comparing, sorting and
scheduling never convert anything.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .core import clock, languages
from .core.db import UTCDateTime, db


def _now() -> datetime:
    return clock.now()


class EventStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class Admission(enum.StrEnum):
    """Who decides a seat: first come, first served, or the programme's approval."""

    OPEN = "open"
    APPROVAL = "approval"


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Organizer(UserMixin, db.Model):
    """An organizer's account: signs in to the workspace, holds API tokens.

    ``session_key`` is part of every sign-in session (:meth:`get_id`);
    signing out replaces it (webinars.accounts.end_sessions), so that a
    copied session cookie stops working.
    """

    __tablename__ = "organizers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    session_key: Mapped[str | None] = mapped_column(sa.String(32))

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="organizer")

    def get_id(self) -> str:
        """What the session cookie names: the account and its current session key."""
        return f"{self.id}:{self.session_key}"


class ApiToken(db.Model):
    """An organizer's API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(sa.ForeignKey("organizers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organizer: Mapped[Organizer] = relationship(back_populates="tokens")


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    timezone: Mapped[str] = mapped_column(sa.String(64))
    # None means unlimited.
    capacity: Mapped[int | None] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(16), default=EventStatus.PUBLISHED)
    # None means "when the first session starts" (see registration_deadline()).
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    join_url: Mapped[str] = mapped_column(sa.String(500), default="")
    # Whether a registrant must confirm their address before a seat is
    # decided; None follows the installation's rule (VERIFY_EMAIL, by default
    # on when seats are limited). webinars.registrations.queries.verifies_email.
    verify_email: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: The language the title and description are written in, and pages default to.
    language: Mapped[str] = mapped_column(sa.String(8), default="en", server_default="en")
    #: {"km": {"title": ..., "description": ...}, ...}: the event in other languages.
    translations: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    reminder_offsets_minutes: Mapped[list[int]] = mapped_column(
        sa.JSON, default=lambda: [1440, 60]
    )
    #: What the form asks beyond name and address (webinars.registrations.questions).
    questions: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    #: Admission.OPEN, or APPROVAL: a registration waits (pending) for an organizer.
    admission: Mapped[str] = mapped_column(sa.String(16), default=Admission.OPEN,
                                           server_default="open")
    #: Only invited addresses, or addresses in ``allowed_domains``, may register.
    invite_only: Mapped[bool] = mapped_column(sa.Boolean, default=False,
                                              server_default=sa.false())
    allowed_domains: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    #: In approval mode, an invited person is admitted without review.
    admit_invited: Mapped[bool] = mapped_column(sa.Boolean, default=False,
                                                server_default=sa.false())
    #: Present for at least this share (percent) of a session counts as attended
    #: (webinars.registrations.attendance).
    attendance_threshold: Mapped[int] = mapped_column(sa.Integer, default=50,
                                                      server_default="50")
    #: Sessions a registrant must have attended to earn a certificate; None: no
    #: certificates (webinars.registrations.certificates).
    certificate_sessions: Mapped[int | None] = mapped_column(sa.Integer)
    #: The programme named on certificates as their issuer.
    issuer: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    #: How the programme uses registrants' data, shown by the form's button and linked
    #: from every mail; in the event's language (translations may carry it too).
    privacy_notice: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    #: Days after the end to keep registrants' personal data; None: the installation's.
    retention_days: Mapped[int | None] = mapped_column(sa.Integer)
    #: When the personal data of its registrants was erased by the retention rule.
    personal_data_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How many registrations are waiting, kept by webinars.registrations in
    # the same locked transaction as every move onto or off the waiting list,
    # so that a new registration learns its place without counting the queue
    # while it holds the event's lock. Seats are never decided from it.
    waitlist_length: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # Span of the scheduled sessions, kept by events.refresh_span() so that
    # "upcoming" lists are one indexed query. Null while no session is scheduled.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    organizer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizers.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now, onupdate=_now)

    sessions: Mapped[list[EventSession]] = relationship(
        back_populates="event",
        order_by="EventSession.start_utc",
        cascade="all, delete-orphan",
    )
    organizer: Mapped[Organizer | None] = relationship()

    @property
    def scheduled_sessions(self) -> list[EventSession]:
        """Sessions that still take place, in start order."""
        return [s for s in self.sessions if s.status == SessionStatus.SCHEDULED]

    @property
    def registration_deadline(self) -> datetime | None:
        """When registration closes: the explicit time, else the first session's start.

        Never after the last session's end: a deadline set later (or left
        behind when the sessions moved earlier) would take seats for an
        event that is over.
        """
        return self.deadline(self.registration_closes_at, self.starts_at, self.ends_at)

    @staticmethod
    def deadline(closes_at: datetime | None, starts_at: datetime | None,
                 ends_at: datetime | None) -> datetime | None:
        """The rule of :attr:`registration_deadline`, on the columns themselves."""
        deadline = closes_at or starts_at
        if deadline is not None and ends_at is not None:
            return min(deadline, ends_at)
        return deadline

    def is_current(self, now: datetime) -> bool:
        """Neither cancelled nor over: an organizer's dashboard lists it first."""
        return self.status != EventStatus.CANCELLED and (self.ends_at is None
                                                         or self.ends_at > now)

    def has_ended(self, now: datetime) -> bool:
        """Its last session is over."""
        return self.ends_at is not None and self.ends_at <= now

    def words(self, language: str | None = None) -> tuple[str, str]:
        """(title, description) in ``language`` (default: the reader's), else as written."""
        given = (self.translations or {}).get(language or languages.current()) or {}
        return (given.get("title") or self.title,
                given.get("description") or self.description or "")

    @property
    def local_title(self) -> str:
        """The title in the reader's language where the organizer gave one."""
        return self.words()[0]

    @property
    def local_description(self) -> str:
        """The description in the reader's language where the organizer gave one."""
        return self.words()[1]

    def next_session(self, now: datetime) -> EventSession | None:
        """The first scheduled session not yet over, if any."""
        return next((s for s in self.scheduled_sessions if s.end_utc > now), None)


class EventSession(db.Model):
    """One sitting of an event (a webinar has one, the TCTP workshop four)."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    # iCalendar UID: set once when the session is created, never changed, so
    # that every calendar holding the session recognises updates to it.
    uid: Mapped[str] = mapped_column(sa.String(255), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    # What the organizer typed, wall clock in event.timezone: the intent.
    start_local: Mapped[datetime] = mapped_column(sa.DateTime)
    end_local: Mapped[datetime] = mapped_column(sa.DateTime)
    # Derived from the wall clock with the tzdata in force when last saved.
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(16), default=SessionStatus.SCHEDULED)
    # iCalendar SEQUENCE: grows with every change a calendar must pick up.
    sequence: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now, onupdate=_now)

    event: Mapped[Event] = relationship(back_populates="sessions")

    @property
    def called_off(self) -> bool:
        """The session does not take place: it or its whole event is cancelled."""
        return self.status != SessionStatus.SCHEDULED or self.event.status == EventStatus.CANCELLED


class RegistrationStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    #: Applied to an event that admits by approval: holds no seat yet.
    PENDING = "pending"
    #: An organizer declined the application.
    DECLINED = "declined"


class ApplicantColumns:
    """What a person typed when registering, kept alike by a registration and a request."""

    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254))
    email_key: Mapped[str] = mapped_column(sa.String(254))
    organization: Mapped[str] = mapped_column(sa.String(200), default="")
    country: Mapped[str] = mapped_column(sa.String(8), default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    #: The language of everything mailed to them (webinars.core.languages).
    language: Mapped[str] = mapped_column(sa.String(8), default="en", server_default="en")
    #: {question key: answer} as checked by webinars.registrations.questions; kept
    #: when the question changes or goes, so that what people said stays readable.
    answers: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")


class Registration(ApplicantColumns, db.Model):
    """A person's place at an event: confirmed, waiting, or cancelled.

    The count of confirmed rows is the only truth about seats taken; no
    counter is kept beside it. ``email_key`` (the address in lower case) is
    unique per event, so a repeat submission finds the existing row.
    """

    __tablename__ = "registrations"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "email_key", name="uq_registrations_event_email"),
        sa.Index("ix_registrations_event_status_queue", "event_id", "status", "queued_at", "id"),
        sa.Index("ix_registrations_notice_due", "notice_due",
                 postgresql_where=sa.text("notice_due"), sqlite_where=sa.text("notice_due")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    # The registrant's key to their manage page: unguessable, never the row id.
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    # Order on the waiting list (first come, first promoted).
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The confirmation (or waiting-list notice) and the reminders of a new
    # registration are prepared after the seat decision, outside the event's
    # lock (webinars.registrations.notices). This flag, committed with the
    # decision, is the promise that they will be: set until that work is done.
    notice_due: Mapped[bool] = mapped_column(sa.Boolean, default=False,
                                             server_default=sa.false())
    #: The registrant stopped their reminders (webinars.reminders.stopping); the seat stays.
    reminders_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()


class RegistrationRequest(ApplicantColumns, db.Model):
    """A registration waiting for its address to be confirmed: it holds no seat.

    Made when an event verifies addresses (Event.verify_email); the mailed
    link's token confirms it, and only then is the seat decided (as a new
    registration, under the seat lock, in order of confirmation). Unconfirmed
    requests expire after a day and are deleted by the scheduler's sweep.
    Several may exist for one address: whoever typed it may not own it, and
    none of them tells the others anything.
    """

    __tablename__ = "registration_requests"
    __table_args__ = (
        sa.Index("ix_registration_requests_event_email", "event_id", "email_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    event: Mapped[Event] = relationship()


class Invitation(db.Model):
    """An organizer invited this address: one mail, and a link that fills the form.

    Unique per event and address (``email_key``, as registrations compare
    them), so importing a list again invites nobody twice. ``mailed_at`` is
    set in the transaction that queues the invitation mail.
    """

    __tablename__ = "invitations"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "email_key", name="uq_invitations_event_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254))
    email_key: Mapped[str] = mapped_column(sa.String(254))
    country: Mapped[str] = mapped_column(sa.String(8), default="")
    language: Mapped[str] = mapped_column(sa.String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()


class OutboxMessage(db.Model):
    """A mail to send, written in the same transaction as the change it tells of.

    A sender claims a message (``claimed_by``, ``claim_token``: webinars.claims)
    before the SMTP call and marks it ``sent_at`` after it; a temporary
    failure sets ``send_after`` for a retry. ``about_at`` is the start of the
    session it tells of, which its retries hurry for (webinars.mail.retries).
    """

    __tablename__ = "outbox"
    # The payload out of line (migration 0007): claims and marks then rewrite
    # a small row, not the whole message.
    __table_args__ = (sa.Index("ix_outbox_pending", "sent_at", "send_after"),
                      {"postgresql_with": {"toast_tuple_target": 128}})

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    message_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    # The whole RFC 5322 message, built when the change was made.
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary)
    registration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    about_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


class Reminder(db.Model):
    """One reminder mail to one registrant before one session: the source of truth.

    Written with the registration (or promotion), moved with the session,
    deleted with the registration or the event. APScheduler only wakes the
    sender at ``due_at``; a row is claimed (``claimed_by``, ``claim_token``:
    webinars.claims) before its SMTP call and marked ``sent_at`` after it. A
    temporary failure sets ``retry_at``, and ``note`` keeps the mail server's
    last answer; a reminder refused for good, out of attempts or still
    refused when its session started is ``failed`` (``failed_at``).
    """

    __tablename__ = "reminders"
    __table_args__ = (
        sa.UniqueConstraint("registration_id", "session_id", "offset_minutes",
                            name="uq_reminders_registration_session_offset"),
        sa.Index("ix_reminders_status_due", "status", "due_at"),
        sa.Index("ix_reminders_status_retry", "status", "retry_at"),
        sa.Index("ix_reminders_session", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("sessions.id", ondelete="CASCADE"))
    offset_minutes: Mapped[int] = mapped_column(sa.Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(16), default=ReminderStatus.PENDING)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(sa.String(500), default="")

    registration: Mapped[Registration] = relationship()
    session: Mapped[EventSession] = relationship()


class Heartbeat(db.Model):
    """When a process last proved it was alive: the scheduler (for /healthz), and
    each sender holding claims (``sender:<name>``, webinars.claims)."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str] = mapped_column(sa.String(200), default="")


class AuditEntry(db.Model):
    """One change to an event: when, by whom, which field, from what to what.

    Written by the services in the transaction that makes the change, so
    every door (pages, API, CLI) leaves the same trail. Values are kept as
    the text people read (times as wall clock in the event's zone), since
    the trail must still say what it said after the event changes again.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (sa.Index("ix_audit_entries_event_at", "event_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    organizer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizers.id", ondelete="SET NULL"))
    # The organizer's address at the time: the trail outlives a renamed or removed account.
    actor: Mapped[str] = mapped_column(sa.String(254), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    # "capacity", "sessions[12]", "registrations[7].status", ...
    field: Mapped[str] = mapped_column(sa.String(100))
    old: Mapped[str] = mapped_column(sa.Text, default="")
    new: Mapped[str] = mapped_column(sa.Text, default="")

    event: Mapped[Event] = relationship()


class Attendance(db.Model):
    """What is known of one registrant at one session: an organizer's check-in, and
    the minutes the meeting platform's report counted. Whether that makes them
    attended is one rule, webinars.registrations.attendance.attended."""

    __tablename__ = "attendance"
    __table_args__ = (
        sa.UniqueConstraint("registration_id", "session_id",
                            name="uq_attendance_registration_session"),
        sa.Index("ix_attendance_session", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("sessions.id", ondelete="CASCADE"))
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    organizer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizers.id", ondelete="SET NULL"))
    #: Ticked on the check-in page (False: only the platform's report knows them).
    checked_in: Mapped[bool] = mapped_column(sa.Boolean, default=True,
                                             server_default=sa.true())
    #: Minutes present by the platform's report (all their joins summed); None: no report.
    minutes: Mapped[int | None] = mapped_column(sa.Integer)


class Certificate(db.Model):
    """A certificate issued to a registrant, kept as it states it.

    ``code`` is the random key of its public verification page; the name,
    event, sessions and hours are copied at issue, so that the certificate
    says the same thing whatever later happens to the registration.
    """

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="SET NULL"), unique=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"),
                                          index=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    language: Mapped[str] = mapped_column(sa.String(8), default="en")
    event_title: Mapped[str] = mapped_column(sa.String(200))
    issuer: Mapped[str] = mapped_column(sa.String(200), default="")
    #: [{"title": ..., "start": ISO UTC, "end": ISO UTC}, ...] of the sessions attended.
    sessions: Mapped[list] = mapped_column(sa.JSON, default=list)
    minutes: Mapped[int] = mapped_column(sa.Integer, default=0)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    #: When the mail with its link was queued (once).
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FollowUp(db.Model):
    """An organizer's message for after the event, to one audience, sent once.

    ``send_at`` is when it is due (now, or relative to the event's end);
    ``sent_at`` is set in the transaction that queues its mails, which the
    scheduler's sweep claims with a conditional update, so it goes once.
    """

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"),
                                          index=True)
    audience: Mapped[str] = mapped_column(sa.String(16))  # attended, absent, confirmed
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    #: Minutes after the event's end, when it was set that way (else None: a fixed time).
    after_end_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int | None] = mapped_column(sa.Integer)
    organizer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizers.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
