"""The organizer's forms: fields and CSRF only; the rules live in the services.

No WTForms validators beyond CSRF: every value goes to a service, which
raises a DomainError naming the field, and the views put its message next
to that field.
"""

from __future__ import annotations

from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
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

from ...core.languages import DEFAULT, LANGUAGES, native_name
from ...registrations.questions import KINDS

DATETIME_LOCAL = {"type": "datetime-local"}


class LoginForm(FlaskForm):
    """Sign in with an address and a password."""

    email = EmailField(lazy_gettext("Email"), render_kw={
        "autocomplete": "username", "maxlength": 254, "inputmode": "email", "required": True})
    password = PasswordField(lazy_gettext("Password"), render_kw={
        "autocomplete": "current-password", "required": True})
    next = HiddenField()


class ButtonForm(FlaskForm):
    """A form that is only a button (with its CSRF token)."""


class TimezoneForm(FlaskForm):
    """The zone the organizer's pages show times in."""

    timezone = StringField(lazy_gettext("Your time zone"), render_kw={
        "list": "zone-names", "autocomplete": "off", "spellcheck": "false",
        "placeholder": "Asia/Bangkok"})


class TokenForm(FlaskForm):
    """Create an API token."""

    name = StringField(lazy_gettext("Name of the new token"), render_kw={
        "maxlength": 100, "placeholder": lazy_gettext("e.g. reporting script")})


class SessionRow(Form):
    """One session of the event form (a plain Form: the outer form carries the CSRF token)."""

    id = HiddenField()
    title = StringField(lazy_gettext("Title (optional)"), render_kw={"maxlength": 200})
    start = StringField(lazy_gettext("Starts"), render_kw=DATETIME_LOCAL)
    end = StringField(lazy_gettext("Ends"), render_kw=DATETIME_LOCAL)
    remove = BooleanField(lazy_gettext("Cancel this session"))


class TranslationRow(Form):
    """The event's title and description in one more language (a plain Form, inside EventForm)."""

    title = StringField(lazy_gettext("Title"), render_kw={"maxlength": 200})
    description = TextAreaField(lazy_gettext("Description"), render_kw={"rows": 4})


class Translations(Form):
    """One TranslationRow per language of the site but English, named by its code."""


for _code in LANGUAGES[1:]:
    setattr(Translations, _code, FormField(TranslationRow))


class EventForm(FlaskForm):
    """Create or edit an event and its sessions (wall clock in the event's zone)."""

    title = StringField(lazy_gettext("Title"), render_kw={"maxlength": 200, "required": True})
    slug = StringField(lazy_gettext("Address (slug)"), render_kw={
        "maxlength": 80, "spellcheck": "false", "autocapitalize": "none"})
    description = TextAreaField(lazy_gettext("Description"), render_kw={"rows": 6})
    timezone = StringField(lazy_gettext("Time zone of the event"), render_kw={
        "list": "zone-names", "autocomplete": "off", "spellcheck": "false",
        "placeholder": "America/New_York", "required": True})
    status = SelectField(lazy_gettext("Visibility"), choices=[
        SelectChoice("published", lazy_gettext("Publish now")),
        SelectChoice("draft", lazy_gettext("Save as a draft"))], validate_choice=False)
    capacity = StringField(lazy_gettext("Capacity (seats)"), render_kw={
        "type": "number", "min": 1, "inputmode": "numeric"})
    registration_closes_at = StringField(lazy_gettext("Registration closes"),
                                         render_kw=DATETIME_LOCAL)
    verify_email = SelectField(lazy_gettext("Confirm addresses before a seat"), choices=[
        SelectChoice("", lazy_gettext("When seats are limited (the default)")),
        SelectChoice("yes", lazy_gettext("Always")), SelectChoice("no", lazy_gettext("Never"))],
        validate_choice=False)
    language = SelectField(lazy_gettext("Language of the title and description"),
                           choices=[SelectChoice(code, native_name(code)) for code in LANGUAGES],
                           default=DEFAULT, validate_choice=False)
    admission = SelectField(lazy_gettext("Admission"), choices=[
        SelectChoice("open", lazy_gettext("First come, first served")),
        SelectChoice("approval", lazy_gettext("Organizers approve each application"))],
        default="open", validate_choice=False)
    invite_only = SelectField(lazy_gettext("Who may register"), choices=[
        SelectChoice("no", lazy_gettext("Anyone with the event's address")),
        SelectChoice("yes", lazy_gettext("Only invited people, and addresses in the domains "
                                         "below"))], default="no", validate_choice=False)
    allowed_domains = StringField(lazy_gettext("Domains that may register without an "
                                               "invitation"), render_kw={
        "spellcheck": "false", "autocapitalize": "none", "placeholder": "mfa.gov.kh, mptc.gov.kh"})
    admit_invited = SelectField(lazy_gettext("Invited people, when organizers approve"),
                                choices=[
        SelectChoice("no", lazy_gettext("Are reviewed like everyone")),
        SelectChoice("yes", lazy_gettext("Are admitted without review"))],
        default="no", validate_choice=False)
    attendance_threshold = StringField(lazy_gettext("Attended from (percent of a session)"),
                                       default="50", render_kw={
        "type": "number", "min": 1, "max": 100, "inputmode": "numeric"})
    certificate_sessions = StringField(lazy_gettext("Sessions that earn a certificate"),
                                       render_kw={"type": "number", "min": 1,
                                                  "inputmode": "numeric"})
    issuer = StringField(lazy_gettext("Issuer of certificates"), render_kw={"maxlength": 200})
    privacy_notice = TextAreaField(lazy_gettext("Privacy notice"), render_kw={"rows": 5})
    retention_days = StringField(lazy_gettext("Keep registrants' data for (days after the end)"),
                                 render_kw={"type": "number", "min": 0, "inputmode": "numeric"})
    join_url = URLField(lazy_gettext("Join link"), render_kw={"maxlength": 500, "inputmode": "url"})
    reminder_offsets_minutes = StringField(lazy_gettext("Reminders (minutes before each session)"),
                                           render_kw={"inputmode": "numeric"})
    sessions = FieldList(FormField(SessionRow), min_entries=1)
    translations = FormField(Translations)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each language's fields say which language they are for, to a screen reader too.
        for code in LANGUAGES[1:]:
            row = self.translations[code].form
            row.title.label.text = gettext("Title in %(language)s", language=native_name(code))
            row.description.label.text = gettext("Description in %(language)s",
                                                 language=native_name(code))


class QuestionWords(Form):
    """A question in one more language (a plain Form, inside QuestionForm)."""

    label = TextAreaField(lazy_gettext("Question"), render_kw={"rows": 2})
    help = StringField(lazy_gettext("Help text"), render_kw={"maxlength": 1000})
    options = TextAreaField(lazy_gettext("Options, one per line, in the same order"),
                            render_kw={"rows": 4})


class QuestionTranslations(Form):
    """One QuestionWords per language of the site but English, named by its code."""


for _code in LANGUAGES[1:]:
    setattr(QuestionTranslations, _code, FormField(QuestionWords))


class QuestionForm(FlaskForm):
    """One question of an event's form (webinars.registrations.questions checks it)."""

    kind = SelectField(lazy_gettext("Kind of answer"), validate_choice=False)
    label = TextAreaField(lazy_gettext("Question"), render_kw={"rows": 2, "required": True})
    help = StringField(lazy_gettext("Help text (optional)"), render_kw={"maxlength": 1000})
    required = BooleanField(lazy_gettext("An answer is required"))
    options = TextAreaField(lazy_gettext("Options, one per line"), render_kw={"rows": 5})
    translations = FormField(QuestionTranslations)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(code, name) for code, name in KINDS.items()]
        for code in LANGUAGES[1:]:
            row = self.translations[code].form
            for name, words in ((row.label, gettext("Question in %(language)s")),
                                (row.help, gettext("Help text in %(language)s")),
                                (row.options, gettext("Options in %(language)s, one per "
                                                      "line, in the same order"))):
                name.label.text = words % {"language": native_name(code)}


class InvitationsForm(FlaskForm):
    """A list of people to invite, pasted or uploaded; ``plan`` is the preview's digest."""

    listing = TextAreaField(lazy_gettext("Paste the list"), render_kw={
        "rows": 8, "spellcheck": "false",
        "placeholder": "name,email,language,country\nChan Sophea,sophea@mfa.gov.kh,km,KH"})
    file = FileField(lazy_gettext("Or upload a CSV file"), render_kw={
        "accept": ".csv,text/csv"})
    plan = HiddenField()


class AttendanceImportForm(FlaskForm):
    """A platform's participant report for one session, and how to read it."""

    file = FileField(lazy_gettext("The participant report (CSV)"), render_kw={
        "accept": ".csv,text/csv,text/plain"})
    report = HiddenField()  # the report's text, carried from the preview to "Record"
    report_format = SelectField(lazy_gettext("Exported from"), choices=[
        SelectChoice("zoom", lazy_gettext("Zoom: participant report")),
        SelectChoice("teams", lazy_gettext("Microsoft Teams: attendance report")),
        SelectChoice("mapped", lazy_gettext("Another platform: name the columns below"))],
        default="zoom", validate_choice=False)
    name = StringField(lazy_gettext("Column of the name"))
    email = StringField(lazy_gettext("Column of the email address"))
    join = StringField(lazy_gettext("Column of the join time"))
    leave = StringField(lazy_gettext("Column of the leave time"))
    duration = StringField(lazy_gettext("Column of the duration (minutes)"))


class FollowUpForm(FlaskForm):
    """A message for after the event."""

    audience = RadioField(lazy_gettext("Send to"), choices=[
        SelectChoice("attended", lazy_gettext("Those who attended")),
        SelectChoice("absent", lazy_gettext("Those who were confirmed and did not attend")),
        SelectChoice("confirmed", lazy_gettext("Everyone confirmed"))],
        default="attended", validate_choice=False)
    subject = StringField(lazy_gettext("Subject"), render_kw={"maxlength": 200, "required": True})
    body = TextAreaField(lazy_gettext("Message"), render_kw={"rows": 10, "required": True})
    when = RadioField(lazy_gettext("When"), choices=[
        SelectChoice("now", lazy_gettext("Now")),
        SelectChoice("later", lazy_gettext("After the event ends, with this delay"))],
        default="now", validate_choice=False)
    hours_after = StringField(lazy_gettext("Hours after the end"), render_kw={
        "inputmode": "decimal", "placeholder": "24"})


class CapacityForm(FlaskForm):
    """Change the capacity from the event page."""

    capacity = StringField(lazy_gettext("Capacity (seats)"), render_kw={
        "type": "number", "min": 1, "inputmode": "numeric"})


class MessageForm(FlaskForm):
    """Write to the confirmed or the waiting registrants."""

    audience = RadioField(lazy_gettext("Send to"), choices=[
        SelectChoice("confirmed", lazy_gettext("Confirmed")),
        SelectChoice("waitlisted", lazy_gettext("Waiting list"))],
        default="confirmed", validate_choice=False)
    subject = StringField(lazy_gettext("Subject"), render_kw={"maxlength": 200, "required": True})
    body = TextAreaField(lazy_gettext("Message"), render_kw={"rows": 10, "required": True})
