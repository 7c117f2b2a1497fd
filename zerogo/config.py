"""Typed configs: every field carries its help text, allowed values and
range, so one description serves `--help`, validation and checkpoints.

A config is a frozen dataclass whose fields are made with `field(...)`.
Launchers generate their flags from it (`launch/_flags.py`); `check` is the
one place that enforces the ranges and choices written here, for every
launcher and for library callers alike. Kept free of JAX: launchers read
configs before `jax.distributed.initialize()`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence


def field(default: Any, help: str, *, choices: Sequence[Any] | None = None,
          minimum: float | None = None, maximum: float | None = None,
          above: float | None = None, flag: str | None = None, shape: bool = False,
          auto: bool = False) -> Any:
  """A config field with its documentation and constraints.

  choices: allowed values; minimum / maximum: inclusive bounds; above: a
  strict lower bound; flag: the command-line name when it is not the field
  name (env_id -> env); shape: the field fixes the shape of a checkpoint, so
  a resume must agree on it; auto: a boolean whose flag also accepts `auto`
  (resolved by the launcher, e.g. bf16 on for GPU/TPU).
  """
  return dataclasses.field(default=default, metadata=dict(
      help=help, choices=tuple(choices) if choices is not None else None, minimum=minimum,
      maximum=maximum, above=above, flag=flag, shape=shape, auto=auto))


def flag_name(f: dataclasses.Field) -> str:
  return f.metadata.get("flag") or f.name


def documented_fields(config_class) -> list[dataclasses.Field]:
  """The fields made with `field(...)` (the others are not user settings)."""
  return [f for f in dataclasses.fields(config_class) if "help" in f.metadata]


def shape_fields(config_class) -> tuple[str, ...]:
  """Names of the fields a checkpoint's shapes depend on."""
  return tuple(f.name for f in dataclasses.fields(config_class) if f.metadata.get("shape"))


MAX_INT = 2**31 - 1


def check(config: Any) -> None:
  """Raises ValueError (one sentence naming the flag) for the first field
  outside its documented choices or range, or a float that is NaN or
  infinite. Cross-field rules stay with each algorithm's `validate`."""
  for f in documented_fields(type(config)):
    value, meta, name = getattr(config, f.name), f.metadata, flag_name(f)
    if value is None:
      continue
    if meta["choices"] is not None and value not in meta["choices"]:
      raise ValueError(f"--{name}={value!r} is not one of "
                       f"{', '.join(str(c) for c in meta['choices'])}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
      continue
    if isinstance(value, float) and not math.isfinite(value):
      raise ValueError(f"--{name} must be a finite number, got {value}")
    if isinstance(value, int) and value > MAX_INT:  # JAX counts in int32
      raise ValueError(f"--{name} must be at most {MAX_INT}, got {value}")
    low, high = meta["minimum"], meta["maximum"]
    if low is not None and high is not None and not low <= value <= high:
      raise ValueError(f"--{name} must be in [{low:g}, {high:g}], got {value}")
    if low is not None and value < low:
      raise ValueError(f"--{name} must be at least {low:g}, got {value}")
    if meta["above"] is not None and value <= meta["above"]:
      raise ValueError(f"--{name} must be greater than {meta['above']:g}, got {value}")
    if meta["maximum"] is not None and value > meta["maximum"]:
      raise ValueError(f"--{name} must be at most {meta['maximum']:g}, got {value}")


def from_dict(config_class, values: dict) -> Any:
  """A config from stored values (a checkpoint's meta): unknown keys are
  ignored, missing ones take their defaults (fields added later)."""
  names = {f.name for f in dataclasses.fields(config_class)}
  return config_class(**{k: v for k, v in values.items() if k in names})


# ---------------------------------------------------------------------------
# How a run is driven: the host loop's options (zerogo.loop.run), here so
# that launchers define their flags from it without loading JAX.

@dataclasses.dataclass(frozen=True)
class RunOptions:
  """How a run is driven (not what it learns). Intervals count updates
  (AlphaZero: iterations)."""
  workdir: str = field("", "Directory for checkpoints, metrics and flags.txt; an existing "
                       "one is resumed.")
  checkpoint_every: int = field(10, "Save every this many {unit}s (and at the end).",
                                minimum=1)
  max_checkpoints: int = field(3, "Checkpoints kept in <workdir>/checkpoints.", minimum=1)
  log_every: int = field(1, "Write metrics every this many {unit}s.", minimum=1)
  eval_every: int = field(10, "Evaluate every this many {unit}s (0: never).", minimum=0)
  eval_games: int = field(64, "Games per opponent (or one-player episodes) in each "
                          "evaluation.", minimum=1)
  eval_uct_simulations: int = field(100, "Simulations of the random-rollout UCT opponent "
                                    "in evaluations (0: random opponent only).", minimum=0)
  progress: bool = field(True, "Show a progress bar with ETA.")
  stop_at: int | None = field(None, "Save and stop after this {unit} (for time-sliced "
                              "jobs); run again to continue.", minimum=1)
  time_budget_s: float | None = field(
      None, "Save and stop at the first {unit} boundary after this many seconds of "
      "training (compilation included, evaluation not; summed over restarts): "
      "fixed-wall-clock comparisons, e.g. launch/ablate.py.", above=0)
  flags_text: str = ""                # resolved flags: <workdir>/flags.txt, checkpoints
