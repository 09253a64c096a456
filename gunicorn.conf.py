"""gunicorn settings for the API; environment variables override each one."""
import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Workers are processes: SQLite readers and Python code scale with cores, not threads.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "sync"
# Load the app (reference data, later the embedding model) once before forking so workers share it.
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None


def pre_fork(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    """Move the preloaded objects out of the garbage collector's reach before forking.

    The preloaded app holds ~630k long-lived objects (referentials, métier index, model); a full
    collection in a worker walks them all (~360 ms, a latency spike) and writes to their headers,
    which un-shares copy-on-write pages. Frozen, they are never scanned; request garbage still is.
    """
    import gc

    gc.collect()
    gc.freeze()


def post_fork(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    """Drop the store engines inherited from the preloading master: each worker opens its own connections."""
    from app.store import dispose_after_fork

    dispose_after_fork()
