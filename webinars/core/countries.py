"""Countries: every ISO 3166 code, named in the reader's language (CLDR), the programme's first."""

from __future__ import annotations

import functools

from babel import Locale

from . import languages

#: ASEAN, Timor-Leste and the United States: where the programme's participants come from.
PROGRAMME = ("BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN", "TL", "US")

# CLDR's two-letter territories that are no country (the EU, the UN, test codes).
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "XK", "ZZ"}


@functools.cache
def codes() -> frozenset[str]:
    """Every country code a registrant may give (ISO 3166-1 alpha-2)."""
    return frozenset(code for code in Locale.parse("en").territories
                     if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES)


def country_name(code: str, locale: str | None = None) -> str:
    """'KH' -> 'Cambodia' (or 'កម្ពុជា' for a Khmer reader); empty for no answer."""
    if code not in codes():
        return ""
    return Locale.parse(languages.formatting_locale(locale)).territories.get(code, code)


@functools.lru_cache(maxsize=16)
def _choices(locale: str) -> tuple[tuple[str, str], ...]:
    names = Locale.parse(locale).territories
    first = [(code, names.get(code, code)) for code in PROGRAMME]
    rest = sorted(((code, names.get(code, code)) for code in codes() - set(PROGRAMME)),
                  key=lambda pair: pair[1].casefold())
    return tuple(first + rest)


def choices(locale: str | None = None) -> tuple[tuple[str, str], ...]:
    """(code, name) for a list to choose from: the programme's countries, then the rest by name."""
    return _choices(languages.formatting_locale(locale))
