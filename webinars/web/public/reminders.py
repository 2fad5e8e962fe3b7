"""Stopping reminders: the one-click link every reminder carries, and the manage page's switch."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext

from ...registrations import queries
from ...reminders import stopping
from ..extensions import csrf
from ..headers import PRIVATE
from . import bp


@bp.get("/reminders/stop/<int:registration_id>/<key>")
def stop_page(registration_id: int, key: str):
    """Asks, with one button: a GET changes nothing (link checkers and scanners open links)."""
    registration = stopping.registration_for(registration_id, key)
    return _answer(registration, key, stopped=registration.reminders_stopped_at is not None)


@bp.post("/reminders/stop/<int:registration_id>/<key>")
@csrf.exempt  # RFC 8058: the mail provider POSTs "List-Unsubscribe=One-Click", no form token
def stop(registration_id: int, key: str):
    """Stop this registration's later reminders; the seat and all other mail stay."""
    registration = stopping.registration_for(registration_id, key)
    stopping.stop(registration.id)
    return _answer(stopping.registration_for(registration_id, key), key, stopped=True)


def _answer(registration, key: str, *, stopped: bool):
    return render_template("public/reminders_stopped.html", registration=registration,
                           event=registration.event, key=key, stopped=stopped), 200, PRIVATE


@bp.post("/registrations/<token>/reminders/<any(stop, resume):change>")
def switch(token: str, change: str):
    """The manage page's switch (CSRF-checked like its other buttons)."""
    registration = queries.by_token(token)
    if change == "stop":
        stopping.stop(registration.id)
        flash(gettext("Reminders are off for this registration. Your seat stays."))
    else:
        stopping.resume(registration.id)
        flash(gettext("Reminders are on again."))
    return redirect(url_for("public.manage", token=token), 303)

