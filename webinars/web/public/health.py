"""/healthz for load balancers: is the database reachable, is the scheduler alive?"""

from __future__ import annotations

from flask import current_app, jsonify

from ...core import timezones
from ...core.errors import Unavailable
from ...worker import heartbeat
from . import bp


@bp.get("/healthz")
def healthz():
    """200 when this worker can use the database, else 503.

    The scheduler's heartbeat is reported, not judged: a web worker that can
    serve should stay in the pool even while the scheduler process restarts;
    alert on ``scheduler.state`` instead.
    """
    try:
        beat = heartbeat.last("scheduler")
    except Unavailable as exc:
        current_app.logger.warning("health check: %s", exc.message)
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    sweep = int(current_app.config.get("SCHEDULER_SWEEP_SECONDS", 60))
    if beat is None:
        scheduler = {"state": "never seen"}
    else:
        scheduler = {"state": "ok" if beat.age_seconds <= 3 * sweep else "stale",
                     "last_beat": timezones.iso_utc(beat.beat_at),
                     "age_seconds": round(beat.age_seconds, 1), "detail": beat.detail}
    return jsonify({"status": "ok", "database": "ok", "scheduler": scheduler}), 200, {
        "Cache-Control": "no-store"}
