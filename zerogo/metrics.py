"""Process-0 writers: metrics.jsonl, TensorBoard events, a progress bar."""

from __future__ import annotations

import contextlib
import json
import math
import os
import time

import jax


class MetricsWriter:
  """Appends one JSON object per call to `<workdir>/metrics.jsonl` and the
  same scalars to TensorBoard. On processes other than 0 it does nothing."""

  def __init__(self, workdir: str, *, resume_from: int = 0):
    """`resume_from`: the iteration the run restarts from; rows logged after
    it by a killed process are dropped, since those iterations run again."""
    self.active = jax.process_index() == 0
    path = os.path.join(workdir, "metrics.jsonl")
    kept = ([r for r in read_jsonl(path) if r.get("iteration", 0) <= resume_from]
            if os.path.exists(path) else [])
    # Seconds spent training before this process (see TrainClock).
    self.previous_train_s = next((r["train_s"] for r in reversed(kept) if "train_s" in r), 0.0)
    if not self.active:
      return
    os.makedirs(workdir, exist_ok=True)
    if os.path.exists(path):
      with open(path + ".tmp", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in kept)
      os.replace(path + ".tmp", path)
    self._jsonl = open(path, "a")
    from tensorboardX import SummaryWriter
    # purge_step: TensorBoard hides the events a killed process logged after
    # `resume_from` (those iterations run again), as metrics.jsonl drops them.
    self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"), purge_step=resume_from + 1)

  def write(self, step: int, scalars: dict) -> None:
    if not self.active:
      return
    row = {"iteration": int(step), "time": time.time()}
    # NaN and infinity are not JSON: such a value is written as null.
    row.update({k: float(v) if math.isfinite(float(v)) else None for k, v in scalars.items()})
    self._jsonl.write(json.dumps(row) + "\n")
    self._jsonl.flush()
    for k, v in row.items():
      if k not in ("iteration", "time") and v is not None:
        self._tb.add_scalar(k, v, int(step))
    self._tb.flush()

  def close(self) -> None:
    if self.active:
      self._jsonl.close()
      self._tb.close()


class TrainClock:
  """Wall-clock seconds spent in training steps (compilation included,
  evaluation and checkpointing not), summed over restarts of the run: the
  quantity a `--time_budget_s` limits, so that runs compared at a fixed
  budget get the same training time however often they were resumed."""

  def __init__(self, previous_s: float = 0.0, budget_s: float | None = None):
    self.seconds = float(previous_s)
    self.budget_s = budget_s
    self._since = None

  def start(self) -> None:
    self._since = time.time()

  def stop(self) -> None:
    self.seconds += time.time() - self._since

  @property
  def out_of_time(self) -> bool:
    return self.budget_s is not None and self.seconds >= self.budget_s


def read_jsonl(path: str) -> list[dict]:
  """Rows of a metrics file; a line cut short by a kill is skipped."""
  rows = []
  with open(path) as f:
    for line in f:
      with contextlib.suppress(json.JSONDecodeError):
        rows.append(json.loads(line))
  return rows


def progress_bar(total: int, initial: int = 0, desc: str = "", enabled: bool = True,
                 unit: str = "it"):
  """tqdm bar with ETA on process 0; a silent stand-in elsewhere."""
  from tqdm.auto import tqdm
  return tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True,
              disable=not enabled or jax.process_index() != 0, unit=unit)
