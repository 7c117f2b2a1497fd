"""Process-0 writers: metrics.jsonl, TensorBoard events, a progress bar."""

from __future__ import annotations

import json
import os
import time

import jax


class MetricsWriter:
  """Appends one JSON object per call to `<workdir>/metrics.jsonl` and the
  same scalars to TensorBoard. On processes other than 0 it does nothing."""

  def __init__(self, workdir: str, *, resume_from: int = 0, tensorboard: bool = True):
    """`resume_from`: the iteration the run restarts from; rows logged after
    it by a killed process are dropped, since those iterations run again."""
    self.active = jax.process_index() == 0
    self._jsonl = None
    self._tb = None
    if not self.active:
      return
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "metrics.jsonl")
    if os.path.exists(path):
      kept = [r for r in read_jsonl(path) if r.get("iteration", 0) <= resume_from]
      with open(path + ".tmp", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in kept)
      os.replace(path + ".tmp", path)
    self._jsonl = open(path, "a")
    if tensorboard:
      from tensorboardX import SummaryWriter
      self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))

  def write(self, step: int, scalars: dict) -> None:
    if not self.active:
      return
    row = {"iteration": int(step), "time": time.time()}
    row.update({k: float(v) for k, v in scalars.items()})
    self._jsonl.write(json.dumps(row) + "\n")
    self._jsonl.flush()
    if self._tb is not None:
      for k, v in scalars.items():
        self._tb.add_scalar(k, float(v), int(step))
      self._tb.flush()

  def close(self) -> None:
    if self._jsonl is not None:
      self._jsonl.close()
    if self._tb is not None:
      self._tb.close()


def read_jsonl(path: str) -> list[dict]:
  """Rows of a metrics file; a line cut short by a kill is skipped."""
  rows = []
  with open(path) as f:
    for line in f:
      try:
        rows.append(json.loads(line))
      except json.JSONDecodeError:
        pass
  return rows


def progress_bar(total: int, initial: int = 0, desc: str = "", enabled: bool = True,
                 unit: str = "it"):
  """tqdm bar with ETA on process 0; a silent stand-in elsewhere."""
  from tqdm.auto import tqdm
  return tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True,
              disable=not enabled or jax.process_index() != 0, unit=unit)
