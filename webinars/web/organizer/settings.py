"""The organizer's own settings: time zone and API tokens.

CSRF is checked for every POST by CSRFProtect before a view runs, so the
views read their forms without validating them again.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext

from ... import accounts
from ...core.errors import NotFound, ValidationError
from . import bp, me
from .forms import ButtonForm, TimezoneForm, TokenForm


def render_settings(*, zone_form: TimezoneForm | None = None, new_token: str | None = None,
                    status: int = 200):
    """The settings page; ``new_token`` is shown this once and never again."""
    organizer = me()
    return render_template(
        "organizer/settings.html",
        zone_form=zone_form or TimezoneForm(timezone=organizer.timezone),
        token_form=TokenForm(), button=ButtonForm(), new_token=new_token,
        tokens=accounts.tokens_of(organizer)), status


@bp.get("/settings")
def settings():
    """Time zone, and the API tokens (name, prefix, created, last used, revoked)."""
    return render_settings()


@bp.post("/settings/timezone")
def set_timezone():
    """Change the zone the organizer's pages use."""
    form = TimezoneForm()
    try:
        accounts.set_timezone(me(), (form.timezone.data or "").strip())
    except ValidationError as exc:
        form.timezone.errors = [exc.message]
        return render_settings(zone_form=form, status=422)
    flash(gettext("Times are now shown in %(zone)s.", zone=me().timezone))
    return redirect(url_for("organizer.settings"), 303)


@bp.post("/settings/tokens")
def create_token():
    """Create a token and show it once."""
    form = TokenForm()
    token = accounts.create_token(me(), form.name.data or "")
    return render_settings(new_token=token)


@bp.post("/settings/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    """Revoke one of the organizer's own tokens."""
    try:
        row = accounts.revoke_token(me(), token_id)
    except NotFound:
        return render_template("error.html", title=gettext("Not found"),
                               message=gettext("There is no such token.")), 404
    flash(gettext("The token %(prefix)s… is revoked; calls with it are refused from now on.",
                  prefix=row.prefix))
    return redirect(url_for("organizer.settings"), 303)
