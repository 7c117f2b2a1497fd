"""SIGTERM (what TPU pods, Slurm and Kubernetes send before they take a
machine away) becomes "save at the next iteration boundary and exit 0".

The training loops poll `SigtermWatch.requested()` once per iteration; with
several processes every process must stop at the same iteration, so the
flag is OR-ed over processes (one tiny all-gather per iteration, only when
there is more than one process).
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

  def requested(self) -> bool:
    import jax
    if jax.process_count() == 1:
      return self._flag
    import numpy as np
    from jax.experimental import multihost_utils
    return bool(np.any(multihost_utils.process_allgather(np.int32(self._flag))))
