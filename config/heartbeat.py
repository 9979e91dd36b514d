"""A long streamed response says it is alive (gunicorn's sync worker).

gunicorn's master kills a worker that has not checked in for `timeout` seconds
(GUNICORN_TIMEOUT, 30), and its sync worker checks in only between requests: a CSV
export of a million rows streaming for longer would be cut off mid-file. The worker's
check-in is installed here when it starts (platform/gunicorn.conf.py,
`post_worker_init`), and the exports call `beat()` as they go. Outside gunicorn (the
tests, a management command) it does nothing.
"""

_notify = None


def install(notify) -> None:
    global _notify
    _notify = notify


def beat() -> None:
    if _notify is not None:
        _notify()


def rows(iterable, every: int = 5000):
    """`iterable`, beating once every `every` items."""
    for index, item in enumerate(iterable):
        if index % every == 0:
            beat()
        yield item
