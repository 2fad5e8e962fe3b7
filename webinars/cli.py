"""``flask --app webinars ...`` commands: a thin door over the services."""

from __future__ import annotations

import functools
import logging
import sys

import click
from flask import Flask

from . import accounts, audit
from .core import timezones
from .core.errors import DomainError
from .events import demo
from .events.queries import get_event, session_of
from .events.service import refresh_timezones
from .registrations import (
    attendance,
    certificates,
    deliveries,
    erasure,
    followups,
    invitations,
    platform_reports,
    queries,
    seats,
)
from .reminders import queries as reminder_queries
from .worker import drain, scheduler


def _fail(exc: DomainError) -> None:
    raise click.ClickException(exc.message)


def _sends_mail(app: Flask):
    """Deliver a command's mail before the process exits, not from a thread that dies with it.

    With WEBINARS_MAIL_DELIVERY=background a command's commit would wake a
    daemon thread, which the exiting process kills mid-batch (its claims then
    wait for the sweep, and a message cut between the server's 250 and its
    mark goes out twice). The command delivers inline instead; ``manual``
    stays manual, since the scheduler sends then.
    """
    def decorate(command):
        @functools.wraps(command)
        def run(*args, **kwargs):
            if app.config.get("MAIL_DELIVERY", "background") == "background":
                app.config["MAIL_DELIVERY"] = "inline"
            return command(*args, **kwargs)
        return run
    return decorate


def register_cli(app: Flask) -> None:
    """Attach the commands to the app."""

    @app.cli.command("create-organizer")
    @click.argument("email")
    @click.option("--name", default="", help="Display name.")
    @click.option("--password-stdin", is_flag=True,
                  help="Read the password from standard input instead of asking.")
    def create_organizer(email: str, name: str, password_stdin: bool) -> None:
        """Create an organizer account (asks for its password)."""
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            organizer = accounts.create_organizer(email, password, name)
        except DomainError as exc:
            _fail(exc)
        click.echo(f"Created organizer {organizer.email}.")

    @app.cli.command("create-token")
    @click.argument("email")
    @click.option("--name", default="cli", help="A label to recognise the token by.")
    def create_token(email: str, name: str) -> None:
        """Print a new API token for an organizer (shown once; only its hash is kept)."""
        organizer = accounts.find_organizer(email)
        if organizer is None:
            raise click.ClickException(f"No organizer with the address {email}.")
        click.echo(accounts.create_token(organizer, name))

    @app.cli.command("revoke-tokens")
    @click.argument("email")
    def revoke_tokens(email: str) -> None:
        """Revoke every API token of an organizer."""
        try:
            count = accounts.revoke_tokens(email)
        except DomainError as exc:
            _fail(exc)
        click.echo(f"Revoked {count} token(s).")

    @app.cli.command("register")
    @click.argument("slug")
    @click.argument("email")
    @click.option("--name", required=True, help="The participant's full name.")
    @click.option("--organization", default="")
    @click.option("--country", default="", help="BN, KH, ID, LA, MY, MM, PH, SG, TH, VN, "
                  "TL, US or other.")
    @click.option("--timezone", "zone", default="UTC", help="IANA zone for their mails.")
    @click.option("--answer", "answers", multiple=True, metavar="KEY=VALUE",
                  help="An answer to one of the event's questions; repeat a key for several "
                  "options, yes/no for a box.")
    @_sends_mail(app)
    def register(slug: str, email: str, name: str, organization: str, country: str,
                 zone: str, answers: tuple[str, ...]) -> None:
        """Register someone for an event (same rules as the form and the API).

        The operator vouches for the person: the address is not verified and,
        where the event admits by approval, they are admitted.
        """
        try:
            result = seats.register(slug, {
                "name": name, "email": email, "organization": organization,
                "country": country, "timezone": zone,
                "answers": _answers(slug, answers)}, actor=audit.COMMAND_LINE)
        except DomainError as exc:
            _fail(exc)
        if isinstance(result, seats.CheckInbox):
            click.echo("Registered already; the link to the registration was mailed to "
                       f"{email}.")
            return
        position = result.waitlist_position
        click.echo(f"{result.status}" + (f" (waiting list #{position})" if position else ""))
        click.echo(result.token)

    def _answers(slug: str, given: tuple[str, ...]) -> dict:
        # Several options are a list, as the API sends them; anything else one value.
        try:
            kinds = {q["key"]: q["kind"] for q in get_event(slug).questions or []}
        except DomainError as exc:
            _fail(exc)
        answers: dict = {}
        for item in given:
            key, sep, value = item.partition("=")
            if not sep:
                raise click.BadParameter(f"{item!r}: expected KEY=VALUE.", param_hint="--answer")
            if kinds.get(key) == "choices":
                answers.setdefault(key, []).append(value)
            else:
                answers[key] = value
        return answers

    @app.cli.command("approve")
    @click.argument("slug")
    @click.argument("emails", nargs=-1, required=True)
    @_sends_mail(app)
    def approve(slug: str, emails: tuple[str, ...]) -> None:
        """Admit pending applications by address: a seat each while free, else the waiting list."""
        _decide(slug, emails, seats.approve)

    @app.cli.command("decline")
    @click.argument("slug")
    @click.argument("emails", nargs=-1, required=True)
    @_sends_mail(app)
    def decline(slug: str, emails: tuple[str, ...]) -> None:
        """Decline pending applications by address; each applicant is told."""
        _decide(slug, emails, seats.decline)

    def _decide(slug: str, emails: tuple[str, ...], decide) -> None:
        try:
            event = get_event(slug, include_drafts=True)
            found = queries.by_addresses(event.id, list(emails))
            missing = sorted({e.lower() for e in emails} - {r.email_key for r in found})
            decision = decide(event.id, [r.id for r in found], audit.COMMAND_LINE)
        except DomainError as exc:
            _fail(exc)
        for registration in decision.decided:
            click.echo(f"{registration.email}: {registration.status}")
        for registration in decision.skipped:
            click.echo(f"{registration.email}: not pending ({registration.status}); "
                       "left as it was", err=True)
        for email in missing:
            click.echo(f"{email}: no registration for this event", err=True)
        if decision.skipped or missing:
            raise SystemExit(1)

    @app.cli.command("invite")
    @click.argument("slug")
    @click.argument("csv_file", type=click.File(encoding="utf-8-sig"))
    @click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing.")
    @_sends_mail(app)
    def invite(slug: str, csv_file, dry_run: bool) -> None:
        """Invite the people of a CSV file (name, email, language, country): one mail each."""
        try:
            event = get_event(slug, include_drafts=True)
            plan = invitations.invite(event.id, invitations.read_csv(csv_file.read()),
                                      dry_run=dry_run, actor=audit.COMMAND_LINE)
        except DomainError as exc:
            _fail(exc)
        for row in plan.rows:
            click.echo(f"line {row.line}: {row.outcome:10} {row.email}"
                       + (f"  {row.reason}" if row.reason else ""))
        verb = "would be invited" if dry_run else "invited"
        click.echo(f"{plan.count('new')} {verb}; {plan.count('invalid')} bad row(s).")

    @app.cli.command("erase")
    @click.argument("email")
    @click.option("--event", "slug", required=True, help="The event's slug.")
    @_sends_mail(app)
    def erase(email: str, slug: str) -> None:
        """Erase one person's registration and data on their request (audited, not kept)."""
        try:
            event = get_event(slug, include_drafts=True)
            [registration] = queries.by_addresses(event.id, [email]) or [None]
            if registration is None:
                raise click.ClickException(f"No registration of {email} for this event.")
            erasure.erase(registration.id, actor=audit.COMMAND_LINE)
        except DomainError as exc:
            _fail(exc)
        click.echo("Erased.")

    @app.cli.command("retention")
    @click.option("--dry-run", is_flag=True, help="List what would be erased; change nothing.")
    def retention(dry_run: bool) -> None:
        """Erase the registrants' personal data of events past their retention period."""
        result = erasure.retain(dry_run=dry_run)
        verb = "would be erased" if dry_run else "erased"
        for slug, people in result.events:
            click.echo(f"{slug}: {people} registrants' personal data {verb}")
        if not result.events:
            click.echo("No event is past its retention period.")

    @app.cli.command("import-attendance")
    @click.argument("slug")
    @click.argument("session_id", type=int)
    @click.argument("report", type=click.File("rb"))
    @click.option("--format", "report_format", type=click.Choice(platform_reports.FORMATS),
                  default="zoom", show_default=True)
    @click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN",
                  help="For --format mapped: name, email, join, leave or duration = a column.")
    @click.option("--dry-run", is_flag=True, help="Say what would be recorded; change nothing.")
    def import_attendance(slug: str, session_id: int, report, report_format: str,
                          mapping: tuple[str, ...], dry_run: bool) -> None:
        """Record a session's attendance from the meeting platform's participant report."""
        columns = dict(item.partition("=")[::2] for item in mapping)
        try:
            event = get_event(slug, include_drafts=True)
            rows = platform_reports.read(report.read(), report_format, columns)
            result = attendance.import_report(event.id, session_of(event, session_id).id,
                                              rows, dry_run=dry_run,
                                              actor=audit.COMMAND_LINE)
        except DomainError as exc:
            _fail(exc)
        for person in result.people:
            who = person.email or f"line {person.lines[0]}"
            click.echo(f"{who}: {person.minutes} min, {person.outcome}"
                       + (", attended" if person.attended else ""))
        verb = "would be recorded" if dry_run else "recorded"
        click.echo(f"{result.count('recorded')} {verb}, {result.count('unchanged')} unchanged, "
                   f"{result.count('unmatched')} not matched to a registrant.")

    @app.cli.command("attendance-report")
    @click.argument("slug")
    def attendance_report(slug: str) -> None:
        """Confirmed, attended and absent, per session, in total and by country."""
        try:
            event = get_event(slug, include_drafts=True)
        except DomainError as exc:
            _fail(exc)
        report = attendance.report(event)
        for number, (session, line) in enumerate(report.sessions, start=1):
            click.echo(f"session {number} {session.title}: confirmed {line.confirmed}, "
                       f"attended {line.attended}, absent {line.absent}")
        click.echo(f"in total: confirmed {report.total.confirmed}, attended "
                   f"{report.total.attended}, absent {report.total.absent}")
        for code, (_per, total) in report.countries.items():
            click.echo(f"  {code or '--'}: confirmed {total.confirmed}, attended "
                       f"{total.attended}, absent {total.absent}")

    @app.cli.command("certificates")
    @click.argument("slug")
    @click.option("--send", is_flag=True, help="Mail each person who earned one its link (once).")
    @click.option("--zip", "zip_path", type=click.Path(dir_okay=False, writable=True),
                  help="Write every certificate into this ZIP file.")
    @_sends_mail(app)
    def certificates_command(slug: str, send: bool, zip_path: str | None) -> None:
        """Who earned a certificate; send them, or collect them in a ZIP."""
        try:
            event = get_event(slug, include_drafts=True)
            earned = certificates.earned(event)
            click.echo(f"{len(earned)} earned a certificate.")
            if send:
                click.echo(f"{certificates.send_all(event.id, audit.COMMAND_LINE)} mailed.")
            if zip_path:
                with open(zip_path, "wb") as target:
                    target.write(certificates.zip_all(event.id))
                click.echo(f"Written to {zip_path}.")
        except DomainError as exc:
            _fail(exc)

    @app.cli.command("follow-up")
    @click.argument("slug")
    @click.option("--to", "audience", type=click.Choice(list(followups.AUDIENCES)),
                  required=True)
    @click.option("--subject", required=True)
    @click.option("--body-file", type=click.File(encoding="utf-8"), required=True)
    @click.option("--after-end", "after_end", type=int, default=None,
                  help="Minutes after the event's end to send it; now if left out.")
    @_sends_mail(app)
    def follow_up(slug: str, audience: str, subject: str, body_file, after_end) -> None:
        """Write to those who attended, those absent, or everyone confirmed, once each."""
        try:
            event = get_event(slug, include_drafts=True)
            row = followups.schedule(event.id, audience, subject, body_file.read(),
                                     after_end_minutes=after_end, actor=audit.COMMAND_LINE)
        except DomainError as exc:
            _fail(exc)
        if row.sent_at is not None:
            click.echo(f"Sent to {row.recipients}.")
        else:
            click.echo(f"Will be sent at {timezones.iso_utc(row.send_at)}.")

    # A manage token may begin with "-" (URL-safe base64): an argument, not an option.
    @app.cli.command("cancel-registration", context_settings={"ignore_unknown_options": True})
    @click.argument("token")
    @_sends_mail(app)
    def cancel_registration(token: str) -> None:
        """Cancel a registration by its manage token; the first person waiting moves up."""
        try:
            seats.cancel(token, actor=audit.COMMAND_LINE)
        except DomainError as exc:
            _fail(exc)
        click.echo("Cancelled.")

    @app.cli.command("send-mail")
    def send_mail() -> None:
        """Compose due confirmations and deliver every due message of the outbox now."""
        total = drain.drain()
        click.echo(f"Sent {total.sent}, will retry {total.retried}, failed {total.failed}.")

    @app.cli.command("scheduler")
    def run_scheduler() -> None:
        """Run the reminder and mail scheduler in the foreground (one per deployment)."""
        if app.config["LOG_FORMAT"] == "text":
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        # APScheduler says "Running job" at INFO twice per job run: two lines
        # every two seconds for the mail poll, drowning what matters.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        click.echo("Scheduler running; Ctrl-C stops it.")
        scheduler.prepare_process(app)
        scheduler.build(app, blocking=True).start()

    @app.cli.command("reminders")
    @click.option("--limit", default=20, show_default=True)
    def list_reminders(limit: int) -> None:
        """List upcoming and recently handled reminders with their state."""
        upcoming, recent = reminder_queries.overview(limit)
        click.echo(f"Upcoming ({len(upcoming)} shown):")
        for r in upcoming:
            click.echo(f"  {timezones.iso_utc(r.due_at)}  {r.status:8} "
                       f"{r.offset_minutes:>5} min before session {r.session_id}  "
                       f"to {r.registration.email}  {r.note}")
        click.echo(f"Recent ({len(recent)} shown):")
        for r in recent:
            when = timezones.iso_utc(r.sent_at or r.due_at)
            click.echo(f"  {when}  {r.status:8} {r.offset_minutes:>5} min before session "
                       f"{r.session_id}  to {r.registration.email}  {r.note}")

    @app.cli.command("refresh-timezones")
    @_sends_mail(app)
    def refresh() -> None:
        """Move future sessions whose zone's rules changed (run after a tzdata update).

        The wall clock the organizer typed wins: each such session gets new
        instants, its reminders move and its registrants are mailed an update.
        """
        results = refresh_timezones()
        for result in results:
            if result.moved:
                click.echo(f"{result.slug}: {result.moved} session(s) moved; registrants "
                           "have been mailed an update.")
            for problem in result.problems:
                click.echo(f"{result.slug}: a session was not moved: {problem}", err=True)
        if not results:
            click.echo("Every future session agrees with today's time-zone rules.")
        if any(r.problems for r in results):
            raise SystemExit(1)

    @app.cli.command("mail-status")
    @click.option("--limit", default=50, show_default=True)
    def mail_status(limit: int) -> None:
        """Mail that failed or waits for a retry: recipient, kind, state, the server's answer."""
        rows = deliveries.across_events(limit)
        if not rows:
            click.echo("No failed or retrying mail.")
            return
        for row in rows:
            click.echo(f"{timezones.iso_utc(row.at)}  {row.state:8} {row.kind:12} "
                       f"{row.recipient}  event {row.event_slug or '-'}  "
                       f"attempts {row.attempts}  {row.answer}")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo events (idempotent)."""
        created = demo.seed()
        if created:
            click.echo("Created " + ", ".join(created) + ".")
        else:
            click.echo("The demo events exist already.")
