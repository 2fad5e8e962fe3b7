"""Invite people to an event: paste or upload a list, see what it will do, then send.

The preview and the sending are the same service call
(webinars.registrations.invitations.invite), first as a dry run; the
preview's digest goes back with the list, so that what is sent is exactly
what the organizer saw, or nothing and a new preview.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import ngettext

from ...core.errors import Conflict, DomainError
from ...core.languages import native_name
from ...registrations import invitations as service
from ...registrations import queries
from . import bp, event_or_404, me
from .forms import ButtonForm, InvitationsForm
from .registrants import country_name


@bp.get("/events/<slug>/invitations")
def invitations(slug: str):
    """Who is invited (and whether they registered), and the form to invite more."""
    return _page(event_or_404(slug), InvitationsForm())


def _page(event, form: InvitationsForm, problem: str | None = None, status: int = 200):
    invited = service.invitations_of(event.id)
    registered = {r.email_key: r.status for r in queries.by_addresses(
        event.id, [i.email for i in invited])}
    return render_template("organizer/invitations.html", event=event, form=form,
                           invited=invited, registered=registered, problem=problem,
                           country_name=country_name, language_name=native_name), status


@bp.post("/events/<slug>/invitations/preview")
def preview_invitations(slug: str):
    """What the list would do, row by row; nothing is written or sent."""
    event = event_or_404(slug)
    form = InvitationsForm()
    upload = form.file.data
    text = upload.read().decode("utf-8-sig", errors="replace") if upload else \
        form.listing.data or ""
    return _preview(event, form, text)


def _preview(event, form: InvitationsForm, text: str, problem: str | None = None,
             status: int = 200):
    try:
        plan = service.invite(event.id, service.read_csv(text), dry_run=True, actor=me())
    except DomainError as exc:
        form.listing.errors = [exc.message]
        return _page(event, form, exc.message, exc.status)
    return render_template("organizer/invitations_preview.html", event=event, plan=plan,
                           listing=text, outcomes=service.OUTCOMES, button=ButtonForm(),
                           problem=problem), status


@bp.post("/events/<slug>/invitations")
def send_invitations(slug: str):
    """Carry out the previewed list: all of it, or nothing if it changed meanwhile."""
    event = event_or_404(slug)
    form = InvitationsForm()
    text = form.listing.data or ""
    try:
        plan = service.invite(event.id, service.read_csv(text), dry_run=False, actor=me(),
                              expect=form.plan.data or "")
    except Conflict as exc:
        return _preview(event_or_404(slug), form, text, exc.message, exc.status)
    except DomainError as exc:
        return _page(event_or_404(slug), form, exc.message, exc.status)
    flash(ngettext("%(num)d invitation is on its way.", "%(num)d invitations are on their way.",
                   plan.count("new")))
    if plan.count("invalid"):
        flash(ngettext("%(num)d row was not imported.", "%(num)d rows were not imported.",
                       plan.count("invalid")), "warning")
    return redirect(url_for("organizer.invitations", slug=event.slug), 303)
