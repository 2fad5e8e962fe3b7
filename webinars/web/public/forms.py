"""The participant's form: fields and CSRF only; the rules live in the service."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from ...core import countries
from ...core.languages import LANGUAGES, current, native_name


class RegistrationForm(FlaskForm):
    """Register for an event. Validation happens in registrations.read_applicant."""

    name = StringField(_l("Full name"), render_kw={"autocomplete": "name", "maxlength": 200})
    email = EmailField(_l("Email"), render_kw={"autocomplete": "email", "maxlength": 254,
                                               "inputmode": "email"})
    organization = StringField(_l("Organization (optional)"),
                               render_kw={"autocomplete": "organization", "maxlength": 200})
    country = SelectField(_l("Country"), validate_choice=False)
    language = SelectField(_l("Language of your mails and invitations"), validate_choice=False)
    # Filled by the browser's Intl API; the server falls back to ?tz= or UTC.
    timezone = HiddenField(render_kw={"data-browser-zone": ""})
    # When the form was shown, signed (webinars.registrations.bots).
    shown = HiddenField()
    # The token of the invitation link that opened the form, if any.
    invitation = HiddenField()
    # The trap: people never see it (webinars.registrations.bots).
    fax = StringField(_l("Leave this field empty"), render_kw={
        "autocomplete": "off", "tabindex": "-1"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Named in the reader's language, so built for each form.
        self.country.choices = [SelectChoice("", _l("Choose your country"))] + [
            SelectChoice(code, name) for code, name in countries.choices()]
        self.language.choices = [SelectChoice(code, native_name(code)) for code in LANGUAGES]
        if not self.language.data:
            self.language.data = current()


class CancelForm(FlaskForm):
    """A button with a CSRF token."""
