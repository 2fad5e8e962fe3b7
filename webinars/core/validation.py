"""Field rules shared by every door (API, forms, CLI): one place for each."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext, ngettext

from .errors import ValidationError

# Control characters (C0, DEL, C1) and the Unicode line/paragraph separators:
# never part of a name or title, and a header-injection vector in mail.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Bidi embeddings, overrides and isolates: they reorder what follows them,
# so that a name can display as someone else's or hide a link. Right-to-left
# scripts are written without them.
_BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Half of a UTF-16 pair, alone (JSON's "\ud800"): no text, and no database stores it.
SURROGATE = re.compile("[\ud800-\udfff]")
# What shows nothing by itself: spaces, format characters (zero-width
# joiners and spaces), combining marks without a base.
_INVISIBLE = {"Zs", "Zl", "Zp", "Cf", "Cc", "Mn", "Me"}
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def text(value: object, field: str, *, max_length: int, required: bool = False,
         multiline: bool = False) -> str:
    """A piece of user text, stripped; control characters refused.

    ``multiline`` allows line breaks and tabs (descriptions), nothing else.
    Bidi overrides and lone surrogates are refused too, and a ``required``
    text needs at least one visible character.
    Text is stored as typed: escaping is the job of each output (HTML, mail,
    iCalendar, CSV).
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(gettext("Expected text."), field)
    value = value.strip()
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        bad = _CONTROL.search(value.replace("\n", "").replace("\t", ""))
    else:
        bad = _CONTROL.search(value)
    if bad:
        raise ValidationError(gettext("Remove the line breaks or control characters."), field)
    if SURROGATE.search(value):
        raise ValidationError(gettext("This text has a broken character; type it again."),
                              field)
    if _BIDI_CONTROL.search(value):
        raise ValidationError(gettext("Remove the invisible direction marks (U+202A–U+202E, "
                                      "U+2066–U+2069)."), field)
    if required and all(unicodedata.category(c) in _INVISIBLE for c in value):
        raise ValidationError(gettext("This field is required."), field)
    if len(value) > max_length:
        raise ValidationError(ngettext("At most %(num)s character, please.",
                                       "At most %(num)s characters, please.", max_length),
                              field)
    return value


_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def is_token(value: object) -> bool:
    """Whether ``value`` could be one of the app's link tokens (``secrets.token_urlsafe``).

    Only its alphabet: a NUL byte, which PostgreSQL refuses even to compare,
    never reaches a query.
    """
    return isinstance(value, str) and bool(_TOKEN.fullmatch(value))


def is_slug(value: object) -> bool:
    """Whether ``value`` could be an event's slug (see :func:`slug`)."""
    return isinstance(value, str) and len(value) <= 80 and bool(_SLUG.fullmatch(value))


def slug(value: object, field: str = "slug") -> str:
    """A URL slug: lowercase letters, digits and single hyphens, 80 at most."""
    if not is_slug(value):
        raise ValidationError(
            gettext("Use lowercase letters, digits and hyphens (at most 80), "
                    "e.g. mekong-delta-2027."),
            field,
        )
    return value


def slugify(title: str) -> str:
    """A slug made from a title; titles in other scripts fall back to 'event'."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    result = ""
    for word in words:
        candidate = f"{result}-{word}" if result else word
        if len(candidate) > 60:
            break
        result = candidate
    return result or "event"


def url(value: object, field: str) -> str:
    """An http(s) URL or the empty string."""
    value = text(value, field, max_length=500)
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(gettext("Expected a link starting with https:// or http://."),
                              field)
    return value


def integer(value: object, field: str, *, minimum: int, maximum: int,
            nullable: bool = False) -> int | None:
    """A whole number in range (JSON booleans are not numbers here)."""
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(gettext("Expected a whole number."), field)
    if not minimum <= value <= maximum:
        raise ValidationError(gettext("Expected a number from %(minimum)s to %(maximum)s.",
                                      minimum=minimum, maximum=maximum), field)
    return value


def email(value: object, field: str = "email") -> str:
    """Validate an address (syntax only, no DNS) and return it in its ASCII form.

    A non-ASCII domain is kept in its ASCII (IDNA) spelling; a non-ASCII
    local part is refused, because delivering it needs SMTPUTF8, which many
    mail servers on the way do not offer, and the mail would be lost.
    """
    if not isinstance(value, str) or not value.strip() or len(value) > 254:
        raise ValidationError(gettext("Enter a valid email address."), field)
    try:
        return validate_email(value.strip(), check_deliverability=False,
                              allow_smtputf8=False).ascii_email
    except EmailNotValidError as exc:
        # The reason is email_validator's own text, in English.
        raise ValidationError(gettext("Enter a valid email address: %(reason)s", reason=exc),
                              field) from None
