"""The languages the site, its mails and its invitations are written in, and their names.

English is the source; the catalogs are in ``webinars/translations``
(docs/translations.md says how they are made). Names, dates, zones and
countries come from CLDR through Babel, in the reader's language.
"""

from __future__ import annotations

import functools

from babel import Locale
from flask_babel import get_locale, gettext

from .errors import ValidationError

#: The source language first, then the region's, in the order the switcher shows them.
LANGUAGES = ("en", "km", "lo", "my", "th", "vi")
DEFAULT = "en"

# The CLDR locale each language's dates are written in: English as read
# around the world (day before month, 24-hour clock), not the US's.
_FORMATS = {"en": "en_001"}


@functools.cache
def native_name(code: str) -> str:
    """The language named in itself, as its readers look for it: 'ខ្មែរ', 'Tiếng Việt'."""
    name = Locale.parse(code).get_display_name(code)
    return name[:1].upper() + name[1:]


def language(value: object, field: str = "language") -> str:
    """A language code of the site's; ValidationError (422) otherwise."""
    if value in LANGUAGES:
        return value
    raise ValidationError(gettext("Expected one of %(codes)s.", codes=", ".join(LANGUAGES)),
                          field)


def current() -> str:
    """The language being written now: the page's, or a mail's (``force_locale``)."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else DEFAULT


def formatting_locale(code: str | None = None) -> str:
    """The CLDR locale to format dates in for ``code`` (default: :func:`current`)."""
    code = code or current()
    return _FORMATS.get(code, code)
