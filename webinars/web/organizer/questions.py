"""The questions of an event's form: add, edit, reorder and remove, one question at a time.

Each change sends the event's whole new list to the events service, as the
API's PATCH does, so the rules (webinars.registrations.questions) and the
audit trail are the same at both doors. Answers already given stay with
their registrations whatever happens to the question.
"""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from ...core.errors import DomainError
from ...core.languages import LANGUAGES, native_name
from ...events import service
from ...models import Event
from ...registrations import questions as rules
from . import bp, event_or_404, me
from .forms import ButtonForm, QuestionForm

_FIELD = re.compile(r"^questions\[\d+\]\.(\w+)(?:\.(\w+)\.(\w+))?")


@bp.get("/events/<slug>/questions")
def questions(slug: str):
    """The event's questions in order, with what each asks."""
    event = event_or_404(slug)
    return render_template("organizer/questions.html", event=event,
                           questions=event.questions or [], kinds=rules.KINDS,
                           button=ButtonForm())


@bp.route("/events/<slug>/questions/new", methods=["GET", "POST"])
def new_question(slug: str):
    """Add a question at the end of the form."""
    return _edit(event_or_404(slug), None)


@bp.route("/events/<slug>/questions/<key>/edit", methods=["GET", "POST"])
def edit_question(slug: str, key: str):
    """Change a question; answers given to it so far are kept as they were."""
    return _edit(event_or_404(slug), key)


def _edit(event: Event, key: str | None):
    current = list(event.questions or [])
    index = next((n for n, q in enumerate(current) if q["key"] == key), None)
    if key is not None and index is None:
        abort(404)
    if request.method == "GET":
        form = QuestionForm(data=_form_data(current[index])) if index is not None \
            else QuestionForm(kind="text")
        return _render(event, form, key)
    form = QuestionForm()
    question = _submitted(form, key)

    def changed(now: list[dict]) -> list[dict]:
        # The list as it is under the lock: another organizer's edit stays.
        place = next((n for n, q in enumerate(now) if q["key"] == key), None)
        if key is None or place is None:
            return now + [question]
        return now[:place] + [question] + now[place + 1:]

    try:
        service.change_questions(event, changed, actor=me())
    except DomainError as exc:
        _place(form, exc)
        return _render(event_or_404(event.slug), form, key, exc)
    flash(gettext("The question is saved.") if index is not None
          else gettext("The question is added to the form."))
    return redirect(url_for("organizer.questions", slug=event.slug), 303)


@bp.post("/events/<slug>/questions/<key>/<any(up, down, remove):move>")
def change_question(slug: str, key: str, move: str):
    """Move a question up or down the form, or remove it (its answers are kept)."""
    event = event_or_404(slug)
    if all(q["key"] != key for q in event.questions or []):
        abort(404)

    def moved(now: list[dict]) -> list[dict]:
        index = next((n for n, q in enumerate(now) if q["key"] == key), None)
        if index is None:  # removed by someone else meanwhile
            return now
        if move == "remove":
            return now[:index] + now[index + 1:]
        other = index - 1 if move == "up" else index + 1
        if 0 <= other < len(now):
            now[index], now[other] = now[other], now[index]
        return now

    try:
        service.change_questions(event, moved, actor=me())
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(gettext("The question is removed; the answers given to it are kept.")
              if move == "remove" else gettext("The order is saved."))
    return redirect(url_for("organizer.questions", slug=slug), 303)


def _render(event: Event, form: QuestionForm, key: str | None,
            error: DomainError | None = None):
    return render_template("organizer/question_form.html", event=event, form=form, key=key,
                           problem=error.message if error else None,
                           languages=[(c, native_name(c)) for c in LANGUAGES[1:]]
                           ), error.status if error else 200


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _form_data(question: dict) -> dict:
    given = question.get("translations") or {}
    return {
        "kind": question["kind"], "label": question["label"], "help": question.get("help", ""),
        "required": question["required"], "options": "\n".join(question.get("options") or []),
        "translations": {code: {"label": given.get(code, {}).get("label", ""),
                                "help": given.get(code, {}).get("help", ""),
                                "options": "\n".join(given.get(code, {}).get("options", []))}
                         for code in LANGUAGES[1:]},
    }


def _submitted(form: QuestionForm, key: str | None) -> dict:
    """The question as the API takes it (a new one without a key)."""
    kind = form.kind.data or ""
    question = {"kind": kind, "label": (form.label.data or "").replace("\r\n", "\n"),
                "help": form.help.data or "", "required": bool(form.required.data)}
    if kind in rules.WITH_OPTIONS:
        question["options"] = _lines(form.options.data)
    translations = {}
    for code in LANGUAGES[1:]:
        row = form.translations[code].form
        words = {"label": (row.label.data or "").replace("\r\n", "\n").strip(),
                 "help": (row.help.data or "").strip()}
        if kind in rules.WITH_OPTIONS and _lines(row.options.data):
            words["options"] = _lines(row.options.data)
        if any(words.values()):
            translations[code] = words
    question["translations"] = translations
    if key:  # a new one gets its key from the service (webinars.registrations.questions)
        question["key"] = key
    return question


def _place(form: QuestionForm, error: DomainError) -> None:
    match = _FIELD.match(error.field or "")
    if not match:
        return
    if match[1] == "translations" and match[2] in form.translations:
        row = form.translations[match[2]].form
        if match[3] in row:
            row[match[3]].errors = [error.message]
    elif match[1] in form and match[1] != "translations":
        form[match[1]].errors = [error.message]
