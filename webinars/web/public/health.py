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

    The scheduler's heartbeat is reported; it is judged only when
    WEBINARS_HEALTH_SCHEDULER_MAX_AGE is set: then a heartbeat older than
    that (or none) is a 503 too. Point a monitor at it that way; a load
    balancer's check is better left without it, so that web workers that
    can serve stay in the pool while the scheduler process restarts.
    """
    try:
        beat = heartbeat.last("scheduler")
    except Unavailable:
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    sweep = int(current_app.config.get("SCHEDULER_SWEEP_SECONDS", 60))
    if beat is None:
        scheduler = {"state": "never seen"}
    else:
        scheduler = {"state": "ok" if beat.age_seconds <= 3 * sweep else "stale",
                     "last_beat": timezones.iso_utc(beat.beat_at),
                     "age_seconds": round(beat.age_seconds, 1), "detail": beat.detail}
    limit = current_app.config.get("HEALTH_SCHEDULER_MAX_AGE")
    healthy = limit is None or (beat is not None and beat.age_seconds <= limit)
    if not healthy:
        scheduler["state"] = "stale" if beat is not None else scheduler["state"]
        scheduler["max_age_seconds"] = limit
    return jsonify({"status": "ok" if healthy else "scheduler late", "database": "ok",
                    "scheduler": scheduler}), 200 if healthy else 503, {
        "Cache-Control": "no-store"}
