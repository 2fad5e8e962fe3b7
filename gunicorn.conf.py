"""gunicorn's settings for this app (read from the working directory by default, or
``gunicorn -c gunicorn.conf.py``): what /metrics needs from the master.

With PROMETHEUS_MULTIPROC_DIR set (README, "Metrics"), each worker keeps its
counters in files there and /metrics sums them all. The sum keeps a dead
worker's counts (a counter never goes back); ``child_exit`` lets
prometheus_client forget what only a live process may say (live gauges:
none here yet, but any that come are then right).
"""

import os

from prometheus_client import multiprocess


def on_starting(server):
    """Refuse to start with a PROMETHEUS_MULTIPROC_DIR that is not a directory."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path and not os.path.isdir(path):
        raise RuntimeError(f"PROMETHEUS_MULTIPROC_DIR={path} is not a directory: create it "
                           "(empty) before gunicorn and the scheduler start")


def child_exit(server, worker):
    """A worker exited: its live-only figures go with it."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
