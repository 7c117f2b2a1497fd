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


class SigtermWatch:
  """Records SIGTERM instead of dying; a context manager that restores the
  previous handler on exit."""

  def __init__(self):
    self._flag = False
    self._previous = None

  def __enter__(self) -> "SigtermWatch":
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def __exit__(self, *exc) -> None:
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)

  def _handle(self, signum, frame) -> None:
    del signum, frame
    self._flag = True

  def signalled(self) -> bool:
    """Whether SIGTERM reached *this* process."""
    return self._flag

  def poll(self, *others: bool) -> tuple[bool, ...]:
    """(SIGTERM reached any process, *each of `others` true on any process)."""
    from zerogo import distributed
    return distributed.agree(self.signalled(), *others)
