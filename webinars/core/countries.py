"""The countries the registration form offers: ASEAN, Timor-Leste, the United States."""

from __future__ import annotations

COUNTRIES: list[tuple[str, str]] = [
    ("BN", "Brunei Darussalam"),
    ("KH", "Cambodia"),
    ("ID", "Indonesia"),
    ("LA", "Lao PDR"),
    ("MY", "Malaysia"),
    ("MM", "Myanmar"),
    ("PH", "Philippines"),
    ("SG", "Singapore"),
    ("TH", "Thailand"),
    ("VN", "Viet Nam"),
    ("TL", "Timor-Leste"),
    ("US", "United States"),
    ("other", "Other"),
]
NAMES = dict(COUNTRIES)


def country_name(code: str) -> str:
    """'KH' -> 'Cambodia'; empty for no answer."""
    return NAMES.get(code, "")
