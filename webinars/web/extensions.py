"""The web's Flask extensions: CSRF on every form, and the organizer's sign-in session."""

from __future__ import annotations

from flask_login import LoginManager
from flask_wtf import CSRFProtect

from .. import accounts
from ..models import Organizer

csrf = CSRFProtect()
login_manager = LoginManager()


@login_manager.user_loader
def _load_organizer(session_id: str) -> Organizer | None:
    return accounts.organizer_for_session(session_id)
