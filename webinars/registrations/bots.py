"""What tells a script from a person at the registration form, without a third-party CAPTCHA.

The app must work on a closed network, so nothing is asked of another
site. Two signs, both invisible to people (screen readers and keyboards
included): a field no person fills (hidden from sight and from assistive
technology, out of the tab order), and a form sent sooner after it was
shown than anyone can fill it in.
"""

from __future__ import annotations

from flask_babel import lazy_gettext

from ..core.errors import ValidationError

#: The answer to a form that looks sent by a script: a person who sees it can just send again.
LOOKS_AUTOMATED = lazy_gettext("Please check the form and send it again.")


def check_form(*, trap: str, seconds_on_page: float | None, min_seconds: float) -> None:
    """Refuse a form whose trap field was filled, or sent within ``min_seconds`` of showing.

    ``seconds_on_page`` is None when the form's signed time is missing,
    forged or too old to trust: refused too, as the CSRF token would be.
    A ``min_seconds`` of 0 turns the time check off.
    """
    if trap:
        raise ValidationError(str(LOOKS_AUTOMATED), None)
    if min_seconds > 0 and (seconds_on_page is None or seconds_on_page < min_seconds):
        raise ValidationError(str(LOOKS_AUTOMATED), None)
