"""/healthz for load balancers: is the database reachable, is the scheduler alive?"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from .. import clock, timezones
from ..extensions import db
from ..models import Heartbeat
from . import bp


@bp.get("/healthz")
def healthz():
    """200 when this worker can use the database, else 503.

    The scheduler's heartbeat is reported, not judged: a web worker that can
    serve should stay in the pool even while the scheduler process restarts;
    alert on ``scheduler.state`` instead.
    """
    try:
        db.session.execute(sa.text("SELECT 1"))
        beat = db.session.get(Heartbeat, "scheduler")
    except SQLAlchemyError as exc:
        db.session.rollback()
        current_app.logger.warning("health check: database unreachable: %s", exc)
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    sweep = int(current_app.config.get("SCHEDULER_SWEEP_SECONDS", 60))
    if beat is None:
        scheduler = {"state": "never seen"}
    else:
        age = (clock.now() - beat.beat_at).total_seconds()
        scheduler = {"state": "ok" if age <= 3 * sweep else "stale",
                     "last_beat": timezones.iso_utc(beat.beat_at),
                     "age_seconds": round(age, 1), "detail": beat.detail}
    return jsonify({"status": "ok", "database": "ok", "scheduler": scheduler}), 200, {
        "Cache-Control": "no-store"}
