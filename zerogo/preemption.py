"""SIGTERM (what TPU pods, Slurm and Kubernetes send before they take a
machine away) becomes "save at the next iteration boundary and exit 0".

The training loops call `SigtermWatch.poll()` once per iteration; with
several processes every process must stop at the same iteration, so the
flag (and any other stop condition passed along) is OR-ed over processes
(one tiny all-gather per iteration, only when there is more than one
process): a signal that reached one worker stops them all.
"""

from __future__ import annotations

import signal
import threading


class Preempted(Exception):
  """Raised by a training loop after it saved because of SIGTERM; launchers
  report it and exit 0, and the same command continues the run."""


_received = threading.Event()  # SIGTERM reached this process (since install / the watch)


def _record(signum, frame) -> None:
  del signum, frame
  _received.set()


def install() -> None:
  """Records SIGTERM from now on instead of dying: launchers call it first,
  so that a SIGTERM during start-up or compilation (before the training
  loop's `SigtermWatch`) still ends in "run the same command" and exit 0."""
  if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGTERM, _record)


class SigtermWatch:
  """Records SIGTERM instead of dying (including one recorded since
  `install()`); a context manager that restores the previous handler on
  exit."""

  def __init__(self):
    self._previous = None

  def __enter__(self) -> "SigtermWatch":
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, _record)
    return self

  def __exit__(self, *exc) -> None:
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)
    _received.clear()  # the next run in this process starts unsignalled

  def signalled(self) -> bool:
    """Whether SIGTERM reached *this* process."""
    return _received.is_set()

  def poll(self, *others: bool) -> tuple[bool, ...]:
    """(SIGTERM reached any process, *each of `others` true on any process)."""
    from zerogo import distributed
    return distributed.agree(self.signalled(), *others)
