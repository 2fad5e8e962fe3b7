"""webinars: publish webinars with time-zone-correct schedules, registrations and reminders.

The packages, from the bottom up (each imports only those below it; the
order is checked by import-linter, see pyproject.toml):
``core`` ← ``models`` ← ``locks`` | ``claims`` ← ``mail`` | ``calendars`` |
``audit`` ← ``accounts`` ← ``reminders`` ← ``registrations`` ← ``events`` ←
``worker`` ← ``metrics`` ← ``web`` ← ``cli``. docs/architecture.md walks through them.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_migrate import Migrate
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    models,  # noqa: F401  (tables must be known before migrations run)
    worker,
)
from .cli import register_cli
from .core import config as config_module
from .core import logs
from .core.db import apply_settings, db, ping_when_idle
from .core.paths import resource_dir
from .web import register_web

migrate = Migrate()


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Application factory: config, extensions, blueprints, CLI, scheduler wiring.

    ``instance_path`` moves the instance folder (database, secret key,
    outbox); tests give each app its own.
    """
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=resource_dir("templates"),
    )
    app.config.from_mapping(config_module.DEFAULTS)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("WEBINARS")
    if test_config:
        app.config.from_mapping(test_config)

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.secret_key(app.instance_path)
    uri = config_module.database_uri(app.config.get("DATABASE_URL"), app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config_module.engine_options(
        uri, app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    )
    app.config["BASE_URL"] = app.config["BASE_URL"].rstrip("/")
    logs.configure(app.config["LOG_FORMAT"])
    if app.config.get("HEALTH_SCHEDULER_MAX_AGE") is not None:  # a bad value stops the start
        app.config["HEALTH_SCHEDULER_MAX_AGE"] = float(app.config["HEALTH_SCHEDULER_MAX_AGE"])
    app.config["METRICS_ALLOW"] = config_module.allow_list(app.config["METRICS_ALLOW"])
    if app.config["VERIFY_EMAIL"] not in config_module.VERIFY_RULES:  # a bad value stops the start
        rules = ", ".join(config_module.VERIFY_RULES)
        raise ValueError(f"WEBINARS_VERIFY_EMAIL must be one of {rules}.")
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    # This app's own: the scheduler adds to it (webinars.worker.scheduler).
    app.config["DATABASE_SETTINGS"] = dict(app.config["DATABASE_SETTINGS"] or {})
    db.init_app(app)
    with app.app_context():
        ping_when_idle(db.engine)
        apply_settings(db.engine, app.config["DATABASE_SETTINGS"])
    migrate.init_app(app, db, directory=resource_dir("migrations"), render_as_batch=True,
                     compare_type=True)
    register_web(app)
    register_cli(app)
    worker.wire(app)
    return app
