"""An event's own questions, and the answers a registration gives: one rule for every door.

A question is kept on the event as a dict (``Event.questions``, in order)::

    {"key": "ministry", "kind": "text", "label": "Ministry", "required": True,
     "help": "", "options": [], "translations": {"km": {"label": ..., "help": ...,
     "options": [...]}}}

Answers are kept with the registration by key, an option by its text in the
event's own language (the options in other languages are how the form
shows it), so that a registrant reading Khmer and one reading English give
the same answer. A question changed or removed later leaves the answers as
they were given: :func:`columns` still shows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext, lazy_gettext

from ..core import languages, validation
from ..core.errors import ValidationError

#: The kinds of question, and what each is called in the organizer's workspace.
KINDS = {
    "text": lazy_gettext("Short answer"),
    "textarea": lazy_gettext("Long answer"),
    "choice": lazy_gettext("One of several options"),
    "choices": lazy_gettext("Any of several options"),
    "yesno": lazy_gettext("Yes or no"),
    "consent": lazy_gettext("A box that must be ticked (e.g. a privacy notice)"),
}
WITH_OPTIONS = ("choice", "choices")
MAX_QUESTIONS = 30
MAX_OPTIONS = 50
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_TEXT_LIMITS = {"text": 500, "textarea": 5000}


def read_questions(value: object, field: str = "questions", *,
                   answered: set[str] = frozenset()) -> list[dict]:
    """Validate a whole list of questions (the API's and the workspace's); keys unique.

    A question sent without a key gets one made from its label that no
    other question has and nobody has ever answered (``answered``: the keys
    the event's registrations hold), so that a new question never inherits
    the answers of a removed one.
    """
    if not isinstance(value, list):
        raise ValidationError(gettext("Expected a list of questions."), field)
    if len(value) > MAX_QUESTIONS:
        raise ValidationError(gettext("At most %(num)s questions, please.",
                                      num=MAX_QUESTIONS), field)
    given = {item.get("key") for item in value if isinstance(item, dict)}
    taken = set(answered) | {k for k in given if isinstance(k, str)}
    questions = []
    for n, item in enumerate(value):
        question = _read_question(item, f"{field}[{n}]")
        if not (isinstance(item, dict) and item.get("key")):
            question["key"] = _free(question["key"], taken)
            taken.add(question["key"])
        questions.append(question)
    seen: set[str] = set()
    for n, question in enumerate(questions):
        if question["key"] in seen:
            raise ValidationError(gettext("Two questions have the key %(key)s.",
                                          key=question["key"]), f"{field}[{n}].key")
        seen.add(question["key"])
    return questions


def _read_question(item: object, field: str) -> dict:
    if not isinstance(item, dict):
        raise ValidationError(gettext("Expected a question (an object)."), field)
    unknown = set(item) - {"key", "kind", "label", "options", "required", "help",
                           "translations"}
    if unknown:
        name = sorted(str(k) for k in unknown)[0][:40]
        raise ValidationError(gettext("Unknown field %(name)r.", name=name), f"{field}.{name}")
    kind = item.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValidationError(gettext("Expected one of %(codes)s.", codes=", ".join(KINDS)),
                              f"{field}.kind")
    label = validation.text(item.get("label"), f"{field}.label", max_length=1000,
                            required=True, multiline=kind == "consent")
    key = item.get("key") or key_for(label)
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValidationError(gettext(
            "A key is a lowercase letter, then letters, digits or _ (40 at most)."),
            f"{field}.key")
    required = item.get("required", kind == "consent")
    if not isinstance(required, bool):
        raise ValidationError(gettext("Expected true or false."), f"{field}.required")
    question = {
        "key": key, "kind": kind, "label": label,
        # A box that must be ticked is required by what it is.
        "required": required or kind == "consent",
        "help": validation.text(item.get("help"), f"{field}.help", max_length=1000),
        "options": _options(item.get("options"), kind, f"{field}.options"),
    }
    question["translations"] = _translations(item.get("translations") or {}, question,
                                             f"{field}.translations")
    return question


def _options(value: object, kind: str, field: str, *, count: int | None = None) -> list[str]:
    if kind not in WITH_OPTIONS:
        if value not in (None, []):
            raise ValidationError(gettext("Only a question with options has options."), field)
        return []
    if not isinstance(value, list) or not value:
        raise ValidationError(gettext("Give the options, one per line."), field)
    if len(value) > MAX_OPTIONS:
        raise ValidationError(gettext("At most %(num)s options, please.", num=MAX_OPTIONS),
                              field)
    options = [validation.text(v, f"{field}[{n}]", max_length=200, required=True)
               for n, v in enumerate(value)]
    if len(set(options)) != len(options):
        raise ValidationError(gettext("Each option must be different."), field)
    if count is not None and len(options) != count:
        raise ValidationError(gettext(
            "Give as many options as in the event's language (%(num)s), in the same order.",
            num=count), field)
    return options


def _translations(value: object, question: dict, field: str) -> dict:
    if not isinstance(value, dict):
        raise ValidationError(gettext("Expected an object of languages."), field)
    result = {}
    for code, words in value.items():
        code = languages.language(code, f"{field}")
        if not isinstance(words, dict):
            raise ValidationError(gettext("Expected an object of languages."),
                                  f"{field}.{code}")
        label = validation.text(words.get("label"), f"{field}.{code}.label", max_length=1000,
                                multiline=question["kind"] == "consent")
        given = {"label": label,
                 "help": validation.text(words.get("help"), f"{field}.{code}.help",
                                         max_length=1000)}
        if question["options"] and words.get("options"):
            given["options"] = _options(words["options"], question["kind"],
                                        f"{field}.{code}.options",
                                        count=len(question["options"]))
        given = {key: value for key, value in given.items() if value}
        if given:
            result[code] = given
    return result


def _free(key: str, taken: set[str]) -> str:
    candidate, n = key, 2
    while candidate in taken:
        candidate = f"{key[:36]}_{n}"
        n += 1
    return candidate


def key_for(label: str) -> str:
    """A key made from a label: 'Your ministry' → 'your_ministry'; other scripts → 'q'."""
    slug = validation.slugify(label).replace("-", "_")
    key = slug if slug[0].isalpha() else "q_" + slug
    return key[:40].rstrip("_")


@dataclass(frozen=True)
class Shown:
    """A question as the reader sees it: words in their language, options as (value, shown)."""

    key: str
    kind: str
    label: str
    help: str
    required: bool
    options: list[tuple[str, str]]


def shown(question: dict, language: str | None = None) -> Shown:
    """``question`` in ``language`` (default: the reader's), else as the organizer wrote it."""
    words = (question.get("translations") or {}).get(language or languages.current()) or {}
    options = question.get("options") or []
    names = words.get("options") or options
    return Shown(question["key"], question["kind"], words.get("label") or question["label"],
                 words.get("help") or question.get("help") or "", question["required"],
                 list(zip(options, names, strict=True)))


def read_answers(questions: list[dict], value: object, field: str = "answers") -> dict:
    """Check the answers to an event's questions; ValidationError names ``answers.<key>``.

    Unanswered optional questions are left out. Forms send text ("yes",
    "on"); the API sends JSON (true, a list): both are read here.
    """
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ValidationError(gettext("Expected an object of answers by question key."), field)
    by_key = {q["key"]: q for q in questions}
    for key in value:
        if key not in by_key:
            raise ValidationError(gettext("This event asks no such question."),
                                  f"{field}.{str(key)[:40]}")
    answers = {}
    for question in questions:
        key = question["key"]
        answer = _answer(question, value.get(key), f"{field}.{key}")
        if answer is None:
            if question["required"]:
                raise ValidationError(
                    gettext("Tick this box to continue.") if question["kind"] == "consent"
                    else gettext("This question needs an answer."), f"{field}.{key}")
            continue
        answers[key] = answer
    return answers


_YES = (True, "yes", "on", "true")
_NO = (False, "no", "false")


def _answer(question: dict, value: object, field: str):
    kind = question["kind"]
    if value in (None, "", []):
        return None
    if kind in _TEXT_LIMITS:
        answer = validation.text(value, field, max_length=_TEXT_LIMITS[kind],
                                 multiline=kind == "textarea")
        return answer or None
    if kind == "choice":
        if value not in question["options"]:
            raise ValidationError(gettext("Choose one of the options."), field)
        return value
    if kind == "choices":
        if not isinstance(value, list) or any(v not in question["options"] for v in value):
            raise ValidationError(gettext("Choose among the options."), field)
        return [option for option in question["options"] if option in value]
    if kind == "yesno":
        if value in _YES:
            return True
        if value in _NO:
            return False
        raise ValidationError(gettext("Answer yes or no."), field)
    if value in _YES:  # consent
        return True
    raise ValidationError(gettext("Tick this box to continue."), field)


def answer_text(question: dict | None, value) -> str:
    """An answer as text in the reader's language: 'Yes', 'A, B', or the text as typed."""
    if isinstance(value, bool):
        if question is not None and question["kind"] == "consent":
            return gettext("Agreed") if value else ""
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, list):
        return ", ".join(_option_name(question, v) for v in value)
    return _option_name(question, value) if question else str(value)


def _option_name(question: dict | None, value) -> str:
    if question is None or not question.get("options"):
        return str(value)
    names = dict(shown(question).options)
    return names.get(value, str(value))


@dataclass(frozen=True)
class Column:
    """One question's column in the registrants' table and CSV."""

    key: str
    label: str
    question: dict | None  # None: removed from the event since people answered it


def columns(questions: list[dict], answer_sets: list[dict]) -> list[Column]:
    """The event's questions in order, then the keys answered to questions since removed."""
    result = [Column(q["key"], shown(q).label, q) for q in questions]
    known = {q["key"] for q in questions}
    gone = sorted({key for answers in answer_sets for key in answers or {}} - known)
    result += [Column(key, gettext("%(key)s (question removed)", key=key), None)
               for key in gone]
    return result
