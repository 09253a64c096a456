"""gunicorn settings for the API; environment variables override each one."""
import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Workers are processes: SQLite readers and Python code scale with cores, not threads.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
# Threads in each worker: a slow or idle client holds one thread, never a whole worker (a sync worker
# is taken by four half-open sockets). gthread parks keep-alive and not-yet-readable sockets in its
# poller; nginx in front (deploy/nginx.conf) buffers whole requests so slow clients never reach us.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Load the app (reference data, later the embedding model) once before forking so workers share it.
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Access log on by default, one JSON object per request with its X-Request-Id; "off" disables it.
accesslog = None if os.environ.get("GUNICORN_ACCESSLOG", "-") == "off" else os.environ.get("GUNICORN_ACCESSLOG", "-")
logger_class = "app.gunicorn_logging.JsonAccessLogger"


def pre_fork(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    """Move the preloaded objects out of the garbage collector's reach before forking.

    The preloaded app holds ~630k long-lived objects (referentials, métier index, model); a full
    collection in a worker walks them all (~360 ms, a latency spike) and writes to their headers,
    which un-shares copy-on-write pages. Frozen, they are never scanned; request garbage still is.
    """
    import gc

    gc.collect()
    gc.freeze()

# Request size limits, set above the app's own (app/api/limits.py: query string over LBA_MAX_QUERY_BYTES → 414,
# more than 100 headers or one over 8190 bytes → 431, in the JSON error shape) so that the app answers first.
# Only a request line over 8190 bytes (gunicorn's maximum) still gets gunicorn's own plain 414.
limit_request_line = 8190
limit_request_fields = 200
limit_request_field_size = 16380

def post_fork(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    """Drop the store engines inherited from the preloading master: each worker opens its own connections."""
    from app.store import dispose_after_fork

    dispose_after_fork()


def worker_exit(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    """Write the usage counters this worker still holds (app/services/usage.py) before it goes."""
    from app.services.usage import flush_all

    flush_all()
