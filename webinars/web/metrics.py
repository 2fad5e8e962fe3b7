"""/metrics in Prometheus' text format, for a monitor: an organizer's API token, or an
address in WEBINARS_METRICS_ALLOW.

The figures are webinars.metrics' to read; this door only decides who may
see them. The address is the socket's (``REMOTE_ADDR``): the app trusts no
X-Forwarded-For, since it sits behind no ProxyFix. A request that carries
one (or ``Forwarded``) came through a proxy, whose own address says nothing
of the client, so it needs the token whatever its address.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from .. import metrics as figures
from ..core import config
from ..core.errors import Unauthorized
from .api import current_organizer

bp = Blueprint("metrics", __name__)


def _allowed_address() -> bool:
    if any(name in request.headers for name in ("Forwarded", "X-Forwarded-For", "X-Real-IP")):
        return False
    return config.allowed(request.remote_addr, current_app.config["METRICS_ALLOW"])


@bp.get("/metrics")
def metrics():
    """The scrape; 401 (JSON, as the API answers) for anyone else."""
    if not _allowed_address() and current_organizer() is None:
        raise Unauthorized("/metrics needs an organizer's API token (Authorization: Bearer "
                           "<token>) or a client address in WEBINARS_METRICS_ALLOW.")
    return Response(figures.exposition(), content_type=figures.CONTENT_TYPE,
                    headers={"Cache-Control": "no-store"})


# Among the routes tests/test_organizer_auth.py proves refuse anyone else.
metrics.organizer_only = True
