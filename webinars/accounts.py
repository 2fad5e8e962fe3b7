"""Organizer accounts and API tokens: passwords hashed, tokens kept only as hashes."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import render_template
from flask_babel import gettext, ngettext
from werkzeug.security import check_password_hash, generate_password_hash

from .core import clock, timezones, validation
from .core.db import db
from .core.errors import Conflict, NotFound, Unauthorized, ValidationError
from .core.transactions import write_transaction
from .mail.compose import compose
from .mail.outbox import queue
from .models import ApiToken, Organizer, OutboxMessage

MIN_PASSWORD_LENGTH = 10
# "Last used" is shown to the minute; writing it more often would make every
# API call a write.
LAST_USED_PRECISION = timedelta(minutes=1)


def find_organizer(email: str) -> Organizer | None:
    """The organizer with this address, compared case-insensitively."""
    return db.session.scalar(
        sa.select(Organizer).where(sa.func.lower(Organizer.email) == email.strip().lower())
    )


def create_organizer(email: str, password: str, name: str = "") -> Organizer:
    """Create an organizer with a hashed password; Conflict if the address exists."""
    address = validation.email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            ngettext("The password needs at least %(num)s character.",
                     "The password needs at least %(num)s characters.", MIN_PASSWORD_LENGTH),
            "password",
        )
    if find_organizer(address):
        raise Conflict(gettext("An organizer with the address %(address)s exists already.",
                               address=address), "email")
    organizer = Organizer(email=address, name=name.strip()[:200],
                          password_hash=generate_password_hash(password))
    with write_transaction():
        db.session.add(organizer)
    return organizer


def check_password(email: str, password: str) -> Organizer | None:
    """The organizer when the password matches, else None."""
    organizer = find_organizer(email) if isinstance(email, str) else None
    if not isinstance(password, str):
        return None
    if organizer is None or not organizer.password_hash:
        # As slow as a real check, so that timing tells nobody whether the account exists.
        check_password_hash(_dummy_hash(), password)
        return None
    if check_password_hash(organizer.password_hash, password):
        return organizer
    return None


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(organizer: Organizer, name: str = "") -> str:
    """Create an API token and return it; only its hash is kept."""
    token = "wbn_" + secrets.token_urlsafe(32)
    organizer_id = organizer.id
    with write_transaction():
        db.session.add(ApiToken(organizer_id=organizer_id, name=name.strip()[:100],
                                token_hash=_digest(token), prefix=token[:12]))
    return token


def organizer_for_token(token: str) -> Organizer:
    """The organizer a bearer token belongs to; Unauthorized when unknown or revoked."""
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        raise Unauthorized(gettext("The API token is missing, unknown or revoked."))
    now = clock.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        organizer_id = row.organizer_id
        _touch(row.id, now)
        return db.session.get(Organizer, organizer_id)
    return row.organizer


def _touch(token_id: int, now) -> None:
    # Its own short transaction, before the call does anything else; the
    # condition keeps concurrent calls from moving the time backwards.
    with write_transaction():
        db.session.execute(
            sa.update(ApiToken)
            .where(ApiToken.id == token_id,
                   sa.or_(ApiToken.last_used_at.is_(None),
                          ApiToken.last_used_at < now - LAST_USED_PRECISION))
            .values(last_used_at=now)
            .execution_options(synchronize_session=False))


def tokens_of(organizer: Organizer) -> list[ApiToken]:
    """An organizer's tokens, live and revoked, newest first."""
    return list(db.session.scalars(
        sa.select(ApiToken).where(ApiToken.organizer_id == organizer.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(organizer: Organizer, token_id: int) -> ApiToken:
    """Revoke one of the organizer's own tokens (revoking twice keeps the first time).

    NotFound for another organizer's token, as for one that does not exist.
    """
    organizer_id = organizer.id
    with write_transaction():
        row = db.session.get(ApiToken, token_id)
        if row is None or row.organizer_id != organizer_id:
            raise NotFound(gettext("No such token."))
        if row.revoked_at is None:
            row.revoked_at = clock.now()
    return row


def set_timezone(organizer: Organizer, zone: object) -> Organizer:
    """Set the zone the organizer's pages show times in (an IANA name)."""
    zone = timezones.zone_name(zone)
    organizer_id = organizer.id
    with write_transaction():
        organizer = db.session.get(Organizer, organizer_id)
        organizer.timezone = zone
    return organizer


def revoke_tokens(email: str) -> int:
    """Revoke every live token of an organizer; returns how many were revoked."""
    with write_transaction():
        organizer = find_organizer(email)
        if organizer is None:
            raise NotFound(gettext("No organizer with the address %(address)s.", address=email))
        count = 0
        for row in organizer.tokens:
            if row.revoked_at is None:
                row.revoked_at = clock.now()
                count += 1
    return count


def get_organizer(organizer_id: int) -> Organizer | None:
    """The organizer with this id, or None."""
    return db.session.get(Organizer, organizer_id)


def start_session(organizer: Organizer) -> Organizer:
    """Give the account a session key if it has none (its sign-ins carry it)."""
    if organizer.session_key is None:
        with write_transaction():
            organizer = db.session.get(Organizer, organizer.id)
            organizer.session_key = secrets.token_hex(16)
    return organizer


def end_sessions(organizer_id: int) -> None:
    """End every sign-in of the account, copies of its cookie included (a new session key)."""
    with write_transaction():
        organizer = db.session.get(Organizer, organizer_id)
        if organizer is not None:
            organizer.session_key = secrets.token_hex(16)


def organizer_for_session(session_id: str) -> Organizer | None:
    """The organizer a sign-in session names (``id:key``), while its key is current."""
    organizer_id, _, key = session_id.partition(":")
    organizer = db.session.get(Organizer, int(organizer_id)) if organizer_id.isdigit() else None
    if organizer is None or organizer.session_key is None or \
            not secrets.compare_digest(organizer.session_key, key):
        return None
    return organizer


def warn_of_lockout(email: str, client: str, until: datetime, window: timedelta) -> bool:
    """Tell an organizer that wrong passwords paused sign-in to their account.

    Called at every refused try while the account's failure limit holds
    (webinars.web.limits); mails once per ``window`` (the limit's), so a
    guesser who keeps trying sends one message, not one per try. Nothing
    for an address that is no organizer's. True when a message was queued.
    """
    organizer = find_organizer(email) if isinstance(email, str) else None
    if organizer is None:
        return False
    now = clock.now()
    with write_transaction():
        recent = db.session.scalar(sa.select(OutboxMessage.id).where(
            OutboxMessage.kind == "lockout", OutboxMessage.recipient == organizer.email,
            OutboxMessage.created_at > now - window).limit(1))
        if recent is not None:
            return False
        zone = organizer.timezone or "UTC"
        values = {"organizer": organizer, "client": client,
                  "until": timezones.format_moment(until, zone)}
        queue(compose(kind="lockout", to_name=organizer.name, to_email=organizer.email,
                      subject=gettext("Sign-in to your organizer account is paused"),
                      text=render_template("emails/lockout.txt", **values),
                      html=render_template("emails/lockout.html", **values)), "lockout")
    return True
