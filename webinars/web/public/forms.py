"""The participant's form: fields and CSRF only; the rules live in the service."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from ...core.countries import COUNTRIES


class RegistrationForm(FlaskForm):
    """Register for an event. Validation happens in registrations.read_applicant."""

    name = StringField("Full name", render_kw={"autocomplete": "name", "maxlength": 200})
    email = EmailField("Email", render_kw={"autocomplete": "email", "maxlength": 254,
                                            "inputmode": "email"})
    organization = StringField("Organization (optional)",
                               render_kw={"autocomplete": "organization", "maxlength": 200})
    country = SelectField(
        "Country",
        choices=[SelectChoice("", "Choose your country")]
        + [SelectChoice(code, name) for code, name in COUNTRIES],
        validate_choice=False,
    )
    # Filled by the browser's Intl API; the server falls back to ?tz= or UTC.
    timezone = HiddenField(render_kw={"data-browser-zone": ""})
    # When the form was shown, signed (webinars.registrations.bots).
    shown = HiddenField()
    # The trap: people never see it (webinars.registrations.bots).
    fax = StringField("Leave this field empty", render_kw={
        "autocomplete": "off", "tabindex": "-1"})


class CancelForm(FlaskForm):
    """A button with a CSRF token."""
