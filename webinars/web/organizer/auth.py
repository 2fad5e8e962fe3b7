"""Sign in and sign out."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user, login_user

from ... import accounts
from ...core import clock
from .. import limits
from . import SIGNED_IN_AT, bp, safe_next, session_expired, sign_out
from .forms import LoginForm

# The same words whether the address is unknown or the password wrong.
LOGIN_FAILED = lazy_gettext("That email and password do not match an organizer account.")


@bp.route("/login", methods=["GET", "POST"])
@limits.limited(*limits.sign_in)
def login():
    """The sign-in form; on success, back to the page that asked for it (on this site)."""
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated and not session_expired() and request.method == "GET":
        return redirect(safe_next(form.next.data) or url_for("organizer.dashboard"), 303)
    if not form.validate_on_submit():
        return render_template("organizer/login.html", form=form)
    organizer = accounts.check_password(form.email.data or "", form.password.data or "")
    if organizer is None:
        form.password.data = ""
        return render_template("organizer/login.html", form=form, problem=LOGIN_FAILED)
    session.permanent = True  # PERMANENT_SESSION_LIFETIME applies
    session[SIGNED_IN_AT] = clock.now().timestamp()
    login_user(accounts.start_session(organizer))
    flash(gettext("Signed in as %(email)s.", email=organizer.email))
    return redirect(safe_next(form.next.data) or url_for("organizer.dashboard"), 303)


@bp.post("/logout")
def logout():
    """Sign out (a POST with a CSRF token, so that no other site can sign anyone out)."""
    sign_out()
    flash(gettext("You are signed out."))
    return redirect(url_for("organizer.login"), 303)
