"""The organizer's forms: fields and CSRF only; the rules live in the services.

No WTForms validators beyond CSRF: every value goes to a service, which
raises a DomainError naming the field, and the views put its message next
to that field.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice

DATETIME_LOCAL = {"type": "datetime-local"}


class LoginForm(FlaskForm):
    """Sign in with an address and a password."""

    email = EmailField("Email", render_kw={"autocomplete": "username", "maxlength": 254,
                                            "inputmode": "email", "required": True})
    password = PasswordField("Password", render_kw={"autocomplete": "current-password",
                                                    "required": True})
    next = HiddenField()


class ButtonForm(FlaskForm):
    """A form that is only a button (with its CSRF token)."""


class TimezoneForm(FlaskForm):
    """The zone the organizer's pages show times in."""

    timezone = StringField("Your time zone", render_kw={
        "list": "zone-names", "autocomplete": "off", "spellcheck": "false",
        "placeholder": "Asia/Bangkok"})


class TokenForm(FlaskForm):
    """Create an API token."""

    name = StringField("Name of the new token", render_kw={
        "maxlength": 100, "placeholder": "e.g. reporting script"})


class SessionRow(Form):
    """One session of the event form (a plain Form: the outer form carries the CSRF token)."""

    id = HiddenField()
    title = StringField("Title (optional)", render_kw={"maxlength": 200})
    start = StringField("Starts", render_kw=DATETIME_LOCAL)
    end = StringField("Ends", render_kw=DATETIME_LOCAL)
    remove = BooleanField("Cancel this session")


class EventForm(FlaskForm):
    """Create or edit an event and its sessions (wall clock in the event's zone)."""

    title = StringField("Title", render_kw={"maxlength": 200, "required": True})
    slug = StringField("Address (slug)", render_kw={"maxlength": 80, "spellcheck": "false",
                                                     "autocapitalize": "none"})
    description = TextAreaField("Description", render_kw={"rows": 6})
    timezone = StringField("Time zone of the event", render_kw={
        "list": "zone-names", "autocomplete": "off", "spellcheck": "false",
        "placeholder": "America/New_York", "required": True})
    status = SelectField("Visibility", choices=[SelectChoice("published", "Publish now"),
                                                SelectChoice("draft", "Save as a draft")],
                         validate_choice=False)
    capacity = StringField("Capacity (seats)", render_kw={"type": "number", "min": 1,
                                                          "inputmode": "numeric"})
    registration_closes_at = StringField("Registration closes", render_kw=DATETIME_LOCAL)
    verify_email = SelectField("Confirm addresses before a seat", choices=[
        SelectChoice("", "When seats are limited (the default)"),
        SelectChoice("yes", "Always"), SelectChoice("no", "Never")], validate_choice=False)
    join_url = URLField("Join link", render_kw={"maxlength": 500, "inputmode": "url"})
    reminder_offsets_minutes = StringField("Reminders (minutes before each session)",
                                           render_kw={"inputmode": "numeric"})
    sessions = FieldList(FormField(SessionRow), min_entries=1)


class CapacityForm(FlaskForm):
    """Change the capacity from the event page."""

    capacity = StringField("Capacity (seats)", render_kw={"type": "number", "min": 1,
                                                          "inputmode": "numeric"})


class MessageForm(FlaskForm):
    """Write to the confirmed or the waiting registrants."""

    audience = RadioField("Send to", choices=[SelectChoice("confirmed", "Confirmed"),
                                              SelectChoice("waitlisted", "Waiting list")],
                          default="confirmed", validate_choice=False)
    subject = StringField("Subject", render_kw={"maxlength": 200, "required": True})
    body = TextAreaField("Message", render_kw={"rows": 10, "required": True})
