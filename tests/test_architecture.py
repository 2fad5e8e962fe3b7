"""The shape of the code: dependencies one way, one way to write, one place for each address.

The layers and the ban on cycles are import-linter contracts in
pyproject.toml; scripts/test runs ``lint-imports`` too, and these tests show
that the contracts hold and that they would catch a break.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "webinars"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(where: Path) -> subprocess.CompletedProcess:
    """import-linter over the ``webinars`` package in ``where``, with this repo's contracts."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config",
                           str(where / "pyproject.toml")],
                          cwd=where, env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


def test_the_packages_keep_their_layers_and_have_no_cycles():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, broken", [
    # core importing a domain package: an upward import, and a cycle.
    ("core/clock.py", "from ..registrations import queries  # noqa\n",
     "Packages are layered"),
    # Two modules of one package importing each other.
    ("registrations/queries.py", "from . import seats  # noqa\n", "No module imports another"),
    # A view running its own SQL.
    ("web/public/health.py", "import sqlalchemy  # noqa\n", "Doors build no SQL"),
])
def test_the_import_check_fails_on_an_upward_import_a_cycle_and_sql_in_a_door(
        tmp_path, module, line, broken):
    shutil.copytree(PACKAGE, tmp_path / "webinars", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "webinars" / module
    lines = target.read_text().splitlines(keepends=True)
    last_import = max(node.end_lineno for node in ast.parse("".join(lines)).body
                      if isinstance(node, ast.Import | ast.ImportFrom))
    target.write_text("".join(lines[:last_import]) + line + "".join(lines[last_import:]))
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout, result.stdout


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_import_hides_inside_a_function():
    # An import inside a function is how a cycle hides from a reader (and,
    # until it runs, from Python); every dependency is stated at the top.
    hidden = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                hidden += [f"{path.relative_to(ROOT)}:{inner.lineno}" for inner in ast.walk(node)
                           if isinstance(inner, ast.Import | ast.ImportFrom)]
    assert hidden == []


def test_only_core_begins_commits_or_rolls_back():
    # One way to write: services change the database inside write_transaction,
    # which begins, commits or rolls back, and runs what waits for the commit.
    # Outside core/ nobody opens or ends a transaction by hand.
    core = PACKAGE / "core"
    by_hand = []
    for path in _modules():
        if core in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("begin", "commit", "rollback", "connect"):
                by_hand.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.attr}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK"):
                by_hand.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value}")
    assert by_hand == []


def test_doors_never_touch_the_database_handle():
    # The "Doors build no SQL" contract stops imports of SQLAlchemy and of
    # webinars.core.db; this stops the handle reaching a door another way
    # (re-exported by models, say).
    doors = [p for p in _modules() if "web" in p.relative_to(PACKAGE).parts[:1]]
    doors.append(PACKAGE / "cli.py")
    touching = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in doors
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.Name) and node.id == "db"
                or isinstance(node, ast.alias) and node.name == "db"]
    assert touching == []


def test_every_absolute_address_is_the_route_it_names(app):
    from flask import url_for

    from webinars.core import links

    token, slug = "t" * 32, "mekong-delta-2027"
    with app.test_request_context(base_url=app.config["BASE_URL"]):
        assert links.manage_url(token) == url_for("public.manage", token=token, _external=True)
        assert links.registrant_calendar_url(token) == \
            url_for("public.registration_ics", token=token, _external=True)
        assert links.event_url(slug) == url_for("public.event_page", slug=slug, _external=True)
        assert links.invitation_url(token) == url_for("public.invited", token=token,
                                                      _external=True)
        assert links.confirm_url(token) == url_for("public.confirm_page", token=token,
                                                   _external=True)
        assert links.certificate_url(token) == url_for("public.certificate", code=token,
                                                       _external=True)
        assert links.certificate_pdf_url(token) == url_for("public.certificate_pdf",
                                                           token=token, _external=True)
        assert links.stop_reminders_url(7, "f" * 32) == url_for(
            "public.stop", registration_id=7, key="f" * 32, _external=True)
        assert links.privacy_url(slug) == url_for("public.privacy", slug=slug, _external=True)
        assert links.feed_url() == url_for("public.feed_ics", _external=True)
