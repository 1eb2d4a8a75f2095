"""Work started in several threads at the same moment, as two requests or two workers
would start it."""

import threading

from django.db import connection


def at_once(work, times: int = 2, timeout: float = 60) -> None:
    """Run `work` in `times` threads released together; each closes its own database
    connection when done. Returns once every thread has ended (or `timeout` passed)."""
    start = threading.Barrier(times)

    def run():
        start.wait()
        try:
            work()
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
