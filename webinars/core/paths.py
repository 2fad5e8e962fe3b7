"""Where the top-level folders are, from a checkout or from an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # webinars/


def resource_dir(name: str) -> str:
    """templates/ or migrations/: inside the package when installed, else the repo's."""
    inside = _PACKAGE / name
    return str(inside if inside.is_dir() else _PACKAGE.parent / name)
