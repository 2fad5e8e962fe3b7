"""webinars: publish webinars with time-zone-correct schedules, registrations and reminders."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from . import config as config_module
from .extensions import csrf, db, login_manager, migrate, ping_when_idle
from .paths import resource_dir


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

    db.init_app(app)
    with app.app_context():
        ping_when_idle(db.engine)
    migrate.init_app(app, db, directory=resource_dir("migrations"), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "organizer.login"
    login_manager.login_message = "Please sign in to see the organizer pages."

    from . import models  # noqa: F401  (tables must be known before migrations run)
    from .api import bp as api_bp
    from .cli import register_cli
    from .errorpages import register_error_pages
    from .organizer import bp as organizer_bp
    from .public import bp as public_bp
    from .templating import register_templating

    app.register_blueprint(public_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(organizer_bp)
    csrf.exempt(api_bp)  # token-authenticated JSON; see api/__init__.py
    register_templating(app)
    register_error_pages(app)
    register_cli(app)

    from .scheduler import wire

    wire(app)
    return app
