"""The catalogs: complete, never fuzzy, placeholders intact, compiled; the app switches language."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from webinars.core.languages import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "webinars" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")
TRANSLATED = [code for code in LANGUAGES if code != "en"]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Every message marked in the code today, extracted as translators get it."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k",
                    "lazy_gettext", "-k", "_l", "--no-location", "-o", str(pot), "."],
                   cwd=ROOT, check=True)
    with pot.open("rb") as file:
        return read_po(file)


def catalog(code: str):
    with (CATALOGS / code / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file, locale=code)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(template, code):
    po = catalog(code)
    missing = [m.id for m in template if m.id and (po.get(m.id) is None or not all(
        po.get(m.id).string if isinstance(po.get(m.id).string, tuple)
        else [po.get(m.id).string]))]
    assert missing == [], f"{code}: {len(missing)} untranslated, e.g. {missing[:3]}"
    fuzzy = [m.id for m in po if m.id and m.fuzzy]
    assert fuzzy == [], f"{code}: fuzzy {fuzzy[:3]}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_placeholders_survive_translation(code):
    problems = []
    for message in catalog(code):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*(placeholders(i) for i in ids))
        for string in strings:
            got = placeholders(string)
            # A language without plural forms may leave %(num)s out of "1 hour".
            if string and (got - wanted - {"num"} or wanted - {"num"} - got):
                problems.append((message.id, string))
    assert problems == [], f"{code}: {problems[:3]}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_catalog_invites_review(code):
    header = (CATALOGS / code / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    assert "native-speaker review is welcome" in header.split("msgid")[0].lower()
