"""Work for the second core: a function computed in a forked process, its result (or exception) sent back.

Forked, not spawned, so the child starts with the parent's memory (the rows and decisions made so far) at no copy
cost and imports nothing again; where the platform cannot fork, callers do the work in this process instead.
"""

import multiprocessing

FORK_MIN = 2_000  # conversations from which a second process pays for itself (a fork costs ~10 ms, a read more)


def can_fork(size: int) -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and size >= FORK_MIN


class Forked:
    """`fn()` computed in a forked process from now on; `result()` waits for it."""

    def __init__(self, fn):
        context = multiprocessing.get_context("fork")
        self.reader, writer = context.Pipe(duplex=False)
        self.process = context.Process(target=_send, args=(fn, writer), daemon=True)
        self.process.start()
        writer.close()

    def result(self):
        try:
            value = self.reader.recv()
        finally:
            self.process.join()
        if isinstance(value, BaseException):
            raise value
        return value

    def stop(self) -> None:
        """Kill it (the parent failed and no longer needs the result)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


def _send(fn, writer) -> None:
    try:
        writer.send(fn())
    except BaseException as error:  # the parent re-raises it
        writer.send(error)
