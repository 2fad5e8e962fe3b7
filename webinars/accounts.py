"""Organizer accounts and API tokens."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from werkzeug.security import check_password_hash, generate_password_hash

from . import clock
from .errors import Conflict, NotFound, Unauthorized, ValidationError
from .extensions import db, login_manager
from .locking import begin_write
from .models import ApiToken, Organizer

MIN_PASSWORD_LENGTH = 10


def normalize_email(value: object, field: str = "email") -> str:
    """Validate an address (syntax only, no DNS) and return it in normal form."""
    if not isinstance(value, str) or not value.strip() or len(value) > 254:
        raise ValidationError("Enter a valid email address.", field)
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationError(f"Enter a valid email address: {exc}", field) from None


def find_organizer(email: str) -> Organizer | None:
    """The organizer with this address, compared case-insensitively."""
    return db.session.scalar(
        sa.select(Organizer).where(sa.func.lower(Organizer.email) == email.strip().lower())
    )


def create_organizer(email: str, password: str, name: str = "") -> Organizer:
    """Create an organizer with a hashed password; Conflict if the address exists."""
    address = normalize_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"The password needs at least {MIN_PASSWORD_LENGTH} characters.", "password"
        )
    if find_organizer(address):
        raise Conflict(f"An organizer with the address {address} exists already.", "email")
    organizer = Organizer(email=address, name=name.strip()[:200],
                          password_hash=generate_password_hash(password))
    begin_write()
    db.session.add(organizer)
    db.session.commit()
    return organizer


def check_password(email: str, password: str) -> Organizer | None:
    """The organizer when the password matches, else None."""
    organizer = find_organizer(email)
    if organizer and organizer.password_hash and check_password_hash(
        organizer.password_hash, password
    ):
        return organizer
    return None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(organizer: Organizer, name: str = "") -> str:
    """Create an API token and return it; only its hash is kept."""
    token = "wbn_" + secrets.token_urlsafe(32)
    organizer_id = organizer.id
    begin_write()
    organizer = db.session.get(Organizer, organizer_id)
    db.session.add(ApiToken(organizer=organizer, name=name.strip()[:100],
                            token_hash=_digest(token), prefix=token[:12]))
    db.session.commit()
    return token


def organizer_for_token(token: str) -> Organizer:
    """The organizer a bearer token belongs to; Unauthorized when unknown or revoked."""
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        raise Unauthorized("The API token is missing, unknown or revoked.")
    return row.organizer


def revoke_tokens(email: str) -> int:
    """Revoke every live token of an organizer; returns how many were revoked."""
    begin_write()
    organizer = find_organizer(email)
    if organizer is None:
        raise NotFound(f"No organizer with the address {email}.")
    count = 0
    for row in organizer.tokens:
        if row.revoked_at is None:
            row.revoked_at = clock.now()
            count += 1
    db.session.commit()
    return count


@login_manager.user_loader
def _load_organizer(organizer_id: str) -> Organizer | None:
    return db.session.get(Organizer, int(organizer_id)) if organizer_id.isdigit() else None
