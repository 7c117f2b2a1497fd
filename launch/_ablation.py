"""Sweeps for `launch/ablate.py`: grid points x seeds, one evaluation
protocol for every final agent, and a summary with confidence intervals.

A *unit* is one training process: a grid point with all its seeds when the
algorithm trains seeds side by side in one program (PPO's `--num_seeds`), or
a grid point and one seed (AlphaZero). `run_unit` trains it by running the
training launcher as a subprocess (resuming if its workdir has a
checkpoint), evaluates every seed's final agent and returns a JSON-able
result; the driver stores it as `<out>/<name>/runs/<unit>.json`, and a unit
whose result exists is skipped when the sweep runs again.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import itertools
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from typing import Callable, Sequence

import numpy as np

from zerogo import config as config_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCHERS = {"selfplay": "launch/selfplay.py", "ppo": "launch/ppo.py",
             "muzero": "launch/muzero.py"}
# Launchers whose seeds are vmapped in one program (flag: --num_seeds).
VMAPPED_SEEDS = {"ppo"}

# Two-sided 97.5% Student-t quantiles by degrees of freedom (n seeds - 1).
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365,
         8: 2.306, 9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}


def t975(df: int) -> float:
  """The 97.5% quantile of Student's t with `df` degrees of freedom (table
  value for the largest tabulated df <= df; 1.96 beyond 30)."""
  if df > 30:
    return 1.96
  return _T975[max(k for k in _T975 if k <= df)]


def mean_ci(values, axis: int | None = None):
  """Mean and the half-width of its 95% t-interval, over all values or along
  `axis` (nan for one value)."""
  x = np.asarray(values, np.float64)
  n = x.size if axis is None else x.shape[axis]
  half = t975(n - 1) * x.std(axis, ddof=1) / math.sqrt(n) if n > 1 else math.nan
  return x.mean(axis), half


# ------------------------------------------------------------------ the grid

def parse_grid(specs: Sequence[str]) -> list[tuple[str, list[str]]]:
  """['num_simulations=4,8', 'search=gumbel,puct'] -> [(name, values), ...]."""
  axes, seen = [], set()
  for spec in specs:
    name, sep, values = spec.partition("=")
    name = name.strip().lstrip("-")
    vals = [v.strip() for v in values.split(",") if v.strip()]
    if not sep or not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or not vals:
      raise ValueError(f"--grid={spec!r} is not of the form flag=value1,value2,...")
    if name in seen:
      raise ValueError(f"--grid names {name} twice")
    repeated = sorted({v for v in vals if vals.count(v) > 1})
    if repeated:
      raise ValueError(f"--grid={spec!r} lists {repeated[0]} twice; each value is one grid "
                       "point (use --seeds for repeats)")
    if name in ("workdir", "seed", "num_seeds", "flagfile"):
      raise ValueError(f"--grid cannot vary --{name}; the sweep sets it")
    seen.add(name)
    axes.append((name, vals))
  return axes


def grid_points(axes: Sequence[tuple[str, Sequence[str]]]) -> list[tuple[tuple[str, str], ...]]:
  """Every combination of the axes' values, first axis slowest."""
  names = [n for n, _ in axes]
  return [tuple(zip(names, combo)) for combo in itertools.product(*(v for _, v in axes))]


def point_label(point) -> str:
  return " ".join(f"{k}={v}" for k, v in point) or "base"


def point_slug(point) -> str:
  """A file-name-safe name for a grid point."""
  text = "_".join(f"{k}-{v}" for k, v in point) or "base"
  return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def detect_launcher(flagfile: str) -> str:
  """`ppo` if the flagfile sets --total_steps (PPO's budget), `muzero` if it
  sets --td_steps or --num_unroll_steps, else `selfplay`."""
  with open(flagfile) as f:
    names = {line.strip().lstrip("-").split("=")[0] for line in f
             if line.strip().startswith("--")}
  if "total_steps" in names:
    return "ppo"
  return "muzero" if names & {"td_steps", "num_unroll_steps"} else "selfplay"


@dataclasses.dataclass(frozen=True)
class Unit:
  """One training process of the sweep."""
  name: str                      # unique, file-name safe
  point: tuple[tuple[str, str], ...]
  seeds: tuple[int, ...]
  vmapped: bool                  # all seeds in one program (--num_seeds)
  workdir: str
  command: tuple[str, ...]


def plan(launcher: str, flagfile: str, axes, num_seeds: int, base_seed: int,
         extra_args: Sequence[str], workdir_root: str) -> list[Unit]:
  """The units of a sweep, in grid order."""
  script = os.path.join(ROOT, LAUNCHERS[launcher])
  vmapped = launcher in VMAPPED_SEEDS
  groups = ([tuple(range(base_seed, base_seed + num_seeds))] if vmapped
            else [(base_seed + i,) for i in range(num_seeds)])
  units = []
  for point in grid_points(axes):
    for seeds in groups:
      name = point_slug(point) + ("" if vmapped else f"_seed{seeds[0]}")
      workdir = os.path.join(workdir_root, name)
      command = (sys.executable, script, f"--flagfile={os.path.abspath(flagfile)}",
                 *extra_args, *(f"--{k}={v}" for k, v in point), f"--seed={seeds[0]}",
                 *([f"--num_seeds={len(seeds)}"] if vmapped else []), f"--workdir={workdir}",
                 "--noprogress", "--nosummary")  # the sweep scores every agent itself
      units.append(Unit(name, point, seeds, vmapped, workdir, command))
  return units


def check_units(units: Sequence[Unit], protocol: "Protocol") -> None:
  """Before anything trains: every grid point's command passes its launcher's
  own validation (`--check_only`: unknown flags, ranges, cross-field rules),
  and the scoring opponent can be built for the game. ValueError (one
  sentence naming the first failing point in grid order and the flag)
  otherwise. The checks run side by side, one per core: each is a fresh
  process that spends seconds importing and nothing computing."""
  from agents import specs
  import envs
  points = {}
  for unit in units:
    points.setdefault(unit.point, unit)

  def check(unit):
    return subprocess.run([*unit.command, "--check_only"], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)

  with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
    procs = dict(zip(points, pool.map(check, points.values())))
  env_ids = set()
  for point, proc in procs.items():
    lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    if proc.returncode != 0:
      reason = next((line for line in reversed(lines)
                     if line.startswith("error: ") or "Flags parsing error" in line),
                    lines[-1] if lines else f"exit {proc.returncode}")
      reason = reason.split("error: ", 1)[-1].strip()
      raise ValueError(f"grid point {point_label(point)} would fail: {reason}")
    env_ids.update(line[4:] for line in lines if line.startswith("ok: "))
  spec = specs.parse(protocol.opponent)
  if not specs.is_jax(spec):
    raise ValueError(f"--score_opponent={protocol.opponent}: external engines are not "
                     "scoring opponents")
  for env_id in sorted(env_ids):
    env = envs.make(env_id)
    if env.num_players == 2:
      specs.make_agent(spec, env)  # minimax off tic-tac-toe, a missing ckpt: refused now


# ------------------------------------------------------------ one unit's run

@dataclasses.dataclass(frozen=True)
class Protocol:
  """How every final agent is scored, the same for all grid points (the
  fields are launch/ablate.py's --score_* and --curve_* flags)."""
  opponent: str = config_lib.field(
      "uct:50", "Two-player games: the reference agent spec (random, uct:N, minimax, "
      "ckpt:PATH[@SIMS]); tic-tac-toe also takes optimal_moves: the share of the 4,520 "
      "reachable positions where the agent plays a minimax-optimal move.",
      flag="score_opponent")
  games: int = config_lib.field(100, "Two-player games: games per final agent (even).",
                                minimum=2, flag="score_games")
  opening_moves: int = config_lib.field(
      2, "Two-player games: random opening moves, shared by the two colour-swapped games of "
      "a pair.", minimum=0, flag="score_opening_moves")
  num_simulations: int | None = config_lib.field(
      None, "Search budget of AlphaZero agents when scored (default: each agent's play "
      "budget, --play_simulations, else the budget it trained with; 0 = raw policy).",
      minimum=0, flag="score_simulations")
  episodes: int = config_lib.field(64, "One-player games: greedy episodes per agent.",
                                   minimum=2, flag="score_episodes")
  curve_x: str | None = config_lib.field(None, "metrics.jsonl key on the plot's x axis "
                                         "(default: env_steps for PPO, train_s for AlphaZero).")
  curve_y: str | None = config_lib.field(
      None, "metrics.jsonl key on the plot's y axis (default: episode_return for PPO, "
      "eval/uct_win_rate or loss for AlphaZero).")


def evaluate(agent, protocol: Protocol, seed: int) -> tuple[str, float]:
  """(metric name, value) of one final agent under the protocol."""
  import jax
  from agents import specs
  from zerogo import arena
  key = jax.random.PRNGKey(10_007 + seed)
  if agent.env.num_players == 1:
    returns = arena.episodes(agent, key, protocol.episodes)[0]
    return f"greedy return ({protocol.episodes} episodes)", float(np.mean(jax.device_get(returns)))
  if protocol.opponent == "optimal_moves":
    from agents import tic_tac_toe_solver as solver
    if agent.env.id != "tic_tac_toe":
      raise ValueError("--score_opponent=optimal_moves scores tic-tac-toe agents only")
    rate = solver.optimal_move_rate(agent, solver.reachable_states(agent.env))
    return "minimax-optimal move rate (4,520 positions)", rate
  opponent = specs.make_agent(specs.parse(protocol.opponent), agent.env)
  result = arena.play_match(agent, opponent, key, protocol.games,
                            opening_moves=protocol.opening_moves).summary()
  return f"score vs {protocol.opponent} ({protocol.games} games)", result["score"]


def read_curves(rows: list[dict], protocol: Protocol, num_seeds: int, vmapped: bool):
  """Per seed, [[x, y], ...] of the learning curve, and the keys used: the
  protocol's, else the first logged of the algorithm's usual ones."""
  if any("env_steps" in r for r in rows):
    x, ys = "env_steps", ("episode_return", "eval/random_win_rate")
  else:
    x, ys = "train_s", ("eval/uct_win_rate", "eval/random_win_rate", "loss")
  present = {k.split("/seed_")[0] for r in rows for k in r}
  x = protocol.curve_x or x
  y = protocol.curve_y or next((k for k in ys if k in present), ys[-1])
  keys = [f"{y}/seed_{i}" if vmapped and num_seeds > 1 else y for i in range(num_seeds)]
  return [[[r[x], r[k]] for r in rows if x in r and k in r] for k in keys], x, y


def run_unit(unit: Unit, protocol: Protocol) -> dict:
  """Trains (or resumes) one unit, evaluates each seed's final agent and
  returns the result the summary is built from."""
  from zerogo import metrics as metrics_lib
  os.makedirs(unit.workdir, exist_ok=True)
  log_path = os.path.join(unit.workdir, "train.log")
  started = time.time()
  with open(log_path, "a") as log:
    offset = log.tell()
    proc = subprocess.run(unit.command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
  wall_s = time.time() - started
  with open(log_path) as f:
    f.seek(offset)
    output = [line.strip() for line in f if line.strip()]
  if proc.returncode != 0:
    raise RuntimeError(f"run {unit.name} failed (exit {proc.returncode}): "
                       f"{(output or ['(no output)'])[-1]} (log: {log_path})")
  if any(line.startswith("SIGTERM: saved") for line in output):
    raise RuntimeError(f"run {unit.name} was stopped by SIGTERM and saved; run the sweep "
                       "again to continue it")
  rows = metrics_lib.read_jsonl(os.path.join(unit.workdir, "metrics.jsonl"))
  import agents
  finals, metric = [], ""
  for i, seed in enumerate(unit.seeds):
    agent = agents.load_agent(unit.workdir, num_simulations=protocol.num_simulations,
                              seed_index=i if unit.vmapped else 0)
    metric, value = evaluate(agent, protocol, seed)
    finals.append(value)
  curves, x, y = read_curves(rows, protocol, len(unit.seeds), unit.vmapped)
  last = rows[-1] if rows else {}
  return {"unit": unit.name, "point": [list(p) for p in unit.point], "seeds": list(unit.seeds),
          "metric": metric, "final": finals, "curve_x": x, "curve_y": y, "curves": curves,
          "iterations": last.get("iteration"), "train_s": last.get("train_s"),
          "wall_s": wall_s, "command": list(unit.command)}


# ------------------------------------------------------------------ backends

def result_path(out_dir: str, unit: Unit) -> str:
  return os.path.join(out_dir, "runs", unit.name + ".json")


def run_all(units: Sequence[Unit], protocol: Protocol, out_dir: str, *, backend: str = "local",
            ray_address: str | None = None, cpus_per_run: float = 1.0,
            progress: bool = True, log: Callable[[str], None] = print) -> list[dict]:
  """Runs every unit without a stored result; returns all units' results in
  grid order. Results are stored as they arrive, so an interrupted sweep
  resumes where it stopped."""
  os.makedirs(os.path.join(out_dir, "runs"), exist_ok=True)
  todo = [u for u in units if not os.path.exists(result_path(out_dir, u))]
  if len(todo) < len(units):
    log(f"{len(units) - len(todo)} of {len(units)} runs already done; skipping them")

  from zerogo import metrics as metrics_lib
  bar = metrics_lib.progress_bar(len(todo), desc="runs", enabled=progress, unit="run")

  def store(unit: Unit, result: dict) -> None:
    path = result_path(out_dir, unit)
    with open(path + ".tmp", "w") as f:
      json.dump(result, f, indent=1)
    os.replace(path + ".tmp", path)
    bar.update(1)
    log(f"done: {unit.name}: {result['metric']} = "
        + ", ".join(f"{v:.3g}" for v in result["final"]))

  if backend == "ray":
    _run_ray(todo, protocol, store, ray_address, cpus_per_run)
  else:
    for unit in todo:
      store(unit, dict(run_unit(unit, protocol), backend="local"))
  bar.close()
  results = []
  for unit in units:
    with open(result_path(out_dir, unit)) as f:
      results.append(json.load(f))
  return results


def _run_unit_on_ray(unit: Unit, protocol: Protocol) -> dict:
  import ray
  return dict(run_unit(unit, protocol), backend="ray",
              ray_node=ray.get_runtime_context().get_node_id())


def _run_ray(units, protocol, store, address, cpus_per_run) -> None:
  """One Ray task per unit on an existing cluster. Every node needs this
  checkout at the same path (or the package installed) and a filesystem
  where the units' workdirs live; results come back through Ray."""
  try:
    import ray
  except ImportError:
    raise ValueError("--backend=ray needs Ray: pip install '.[ray]'") from None
  try:
    ray.init(address=address or "auto", log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": ROOT}})
  except ConnectionError as e:
    raise ValueError(f"no Ray cluster at {address or 'auto'}: {e}") from None
  try:
    task = ray.remote(num_cpus=cpus_per_run, max_retries=0)(_run_unit_on_ray)
    pending = {task.remote(u, protocol): u for u in units}
    while pending:
      ready, _ = ray.wait(list(pending), num_returns=1)
      for ref in ready:
        store(pending.pop(ref), ray.get(ref))
  finally:
    ray.shutdown()


# ------------------------------------------------------------------- summary

def group_by_point(results: Sequence[dict]) -> list[dict]:
  """Per grid point (in order): every seed's final value and curve."""
  points: dict[str, dict] = {}
  for r in results:
    label = point_label(r["point"])
    p = points.setdefault(label, {"label": label, "point": r["point"],
                                  "seeds": [], "final": [], "curves": [],
                                  "train_s": [], "wall_s": [], "metric": r["metric"],
                                  "curve_x": r["curve_x"], "curve_y": r["curve_y"]})
    for k in ("seeds", "final", "curves"):
      p[k] += r[k]
    # A vmapped unit's time is shared by its seeds.
    p["train_s"].append(r["train_s"] or 0.0)
    p["wall_s"].append(r["wall_s"])
  for p in points.values():
    p["mean"], p["ci"] = mean_ci(p["final"])
  return list(points.values())


def _ci_text(mean: float, half: float) -> str:
  return "n/a" if math.isnan(half) else f"[{mean - half:.3g}, {mean + half:.3g}]"


def write_summary(path: str, name: str, command: str, points: list[dict],
                  launcher: str, protocol: Protocol, plot_name: str | None) -> str:
  """Writes summary.md; returns its text."""
  import jax
  best = max(points, key=lambda p: p["mean"])
  metric = best["metric"]
  lines = [
      f"# Ablation: {name}", "",
      "Reproduce with:", "", f"    {command}", "",
      f"Launcher `{LAUNCHERS[launcher]}`; seeds per point: {len(best['seeds'])}"
      + (" (trained side by side in one program)" if launcher in VMAPPED_SEEDS else
         " (one process each)") + f". Final metric: **{metric}**"
      + (f", opening moves {protocol.opening_moves}" if "score vs" in metric else "")
      + (f", search budget {protocol.num_simulations}"
         if protocol.num_simulations is not None else "") + ".",
      f"Machine: {platform.node() or 'unknown'}, {os.cpu_count()} CPUs, "
      f"{jax.devices()[0].device_kind}, JAX {jax.__version__}, "
      f"{datetime.date.today().isoformat()}.", "",
      "| grid point | seeds | mean | 95% CI | per seed | train s / run | wall s / run |",
      "| --- | --- | --- | --- | --- | --- | --- |"]
  for p in points:
    lines.append(f"| {p['label']} | {len(p['final'])} | {p['mean']:.3g} | "
                 f"{_ci_text(p['mean'], p['ci'])} | "
                 + ", ".join(f"{v:.3g}" for v in p["final"])
                 + f" | {np.mean(p['train_s']):.0f} | {np.mean(p['wall_s']):.0f} |")
  lines += ["", f"Best mean: **{best['label']}** ({best['mean']:.3g})."]
  if not math.isnan(best["ci"]):
    overlap = [p["label"] for p in points if p is not best and not math.isnan(p["ci"])
               and p["mean"] + p["ci"] >= best["mean"] - best["ci"]]
    lines.append("Points whose 95% interval overlaps the best's (not separated by this "
                 "many seeds): " + (", ".join(overlap) if overlap else "none") + ".")
  lines += _main_effects(points)
  lines += ["", "95% CI: Student-t interval of the mean over seeds. train s: seconds in "
            "training steps (compilation included, evaluation not), from metrics.jsonl; "
            "wall s: the training process as the sweep saw it. Per-run results with "
            "learning curves: `runs/*.json`."]
  if plot_name:
    lines += ["", f"![learning curves]({plot_name})"]
  text = "\n".join(lines) + "\n"
  with open(path, "w") as f:
    f.write(text)
  return text


def _main_effects(points: list[dict]) -> list[str]:
  """Per grid axis with 2+ values: every run of each value pooled over the
  other axes (a main effect), mean and 95% t-interval."""
  axes: dict[str, dict[str, list[float]]] = {}
  for p in points:
    for name, value in p["point"]:
      axes.setdefault(name, {}).setdefault(value, []).extend(p["final"])
  lines = []
  for name, by_value in axes.items():
    if len(by_value) < 2 or len(axes) < 2:
      continue
    lines += ["", f"Pooled over the other axes, by `{name}`:", "",
              "| value | runs | mean | 95% CI |", "| --- | --- | --- | --- |"]
    for value, finals in by_value.items():
      mean, half = mean_ci(finals)
      lines.append(f"| {value} | {len(finals)} | {mean:.3g} | {_ci_text(mean, half)} |")
  return lines


def plot_curves(path: str, name: str, points: list[dict]) -> None:
  """Mean learning curve per grid point with a 95% band over seeds."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(8, 4.5))
  for p in points:
    curves = [np.asarray(c, np.float64) for c in p["curves"] if len(c)]
    if not curves:
      continue
    end = min(c[-1, 0] for c in curves)
    start = max(c[0, 0] for c in curves)
    grid = np.linspace(start, end, 60) if end > start else np.array([start])
    ys = np.stack([np.interp(grid, c[:, 0], c[:, 1]) for c in curves])
    mean, half = mean_ci(ys, axis=0)
    line, = ax.plot(grid, mean, label=p["label"])
    if len(curves) > 1:
      ax.fill_between(grid, mean - half, mean + half, color=line.get_color(), alpha=0.2)
  ax.set_xlabel(points[0]["curve_x"])
  ax.set_ylabel(points[0]["curve_y"] + " (mean over seeds, 95% band)")
  ax.set_title(name)
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)
