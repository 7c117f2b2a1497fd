r"""Does X help? Train every grid point x seed, score every final agent the
same way, and write a summary with 95% confidence intervals and a plot.

  python launch/ablate.py --flagfile=launch/configs/connect_four.flags \
      --grid='num_simulations=4,8,16,32' --grid='search=gumbel,puct' --seeds=3 \
      --name=c4_sims --time_budget_s=120 --num_iterations=100000 --score_simulations=32

`--flagfile` is the base config of the training launcher (launch/selfplay.py,
or launch/ppo.py when the flagfile sets --total_steps; or --launcher). Every
flag this program does not define (e.g. --num_iterations=2, --time_budget_s)
is passed to every run; each --grid flag=v1,v2,... adds an axis. PPO trains a
point's seeds side by side in one program (--num_seeds); AlphaZero runs one
process per seed. Writes <out>/<name>/summary.md, curves.png and runs/*.json
(one per run); run the same command again to resume an interrupted sweep
(finished runs are skipped, unfinished ones resume from their checkpoints).
Workdirs (checkpoints, metrics) go to <workdir_root>/<name>/.

Scoring: two-player games play --score_games against --score_opponent (score:
win 1, draw 1/2) with --score_opening_moves random opening moves per
colour-swapped pair; one-player games report the greedy return over
--score_episodes episodes.

--backend=ray runs the runs as Ray tasks on an existing cluster
(--ray_address; pip install '.[ray]'); every node needs this checkout at the
same path and a shared filesystem for the workdirs.
"""

from __future__ import annotations

import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _ablation as ablation  # noqa: E402
from launch import _common  # noqa: E402
from zerogo import config as config_lib  # noqa: E402

flags.DEFINE_multi_string("grid", [], "An axis of the grid: flag=value1,value2,... (repeat "
                          "the flag for more axes).")
flags.DEFINE_integer("seeds", 3, "Seeds per grid point (seed, seed+1, ...).")
flags.DEFINE_integer("base_seed", 0, "The first seed.")
flags.DEFINE_string("name", None, "Name of the sweep: <out>/<name>/summary.md.")
flags.DEFINE_string("out", "results/ablations", "Where summaries go.")
flags.DEFINE_string("workdir_root", "runs/ablations", "Where the runs' workdirs go.")
flags.DEFINE_enum("launcher", "auto", ["auto", "selfplay", "ppo", "muzero"],
                  "Training launcher (auto: ppo if the flagfile sets --total_steps, muzero "
                  "if it sets --td_steps).")
_common.define_config_flags(ablation.Protocol)  # --score_* and --curve_*
flags.DEFINE_enum("backend", "local", ["local", "ray"], "local: one run after another here; "
                  "ray: runs as Ray tasks on the cluster at --ray_address.")
flags.DEFINE_string("ray_address", None, "Ray cluster address (default: auto-detect).")
flags.DEFINE_float("ray_cpus_per_run", 2.0, "CPUs Ray reserves for each run.")
flags.DEFINE_bool("progress", True, "Show a progress bar over runs.")
FLAGS = flags.FLAGS

_OWN = {"help", "helpfull", "helpshort", "helpxml", "only_check_args"}
_BASE = []  # --flagfile and the flags passed through to every run


def _split_argv(argv: list[str]) -> list[str]:
  """absl parses this program's flags (and stray arguments, for `start` to
  refuse); --flagfile and every other --flag are kept for the training runs."""
  own_names = _OWN | set(FLAGS) - {"flagfile"}
  own = [argv[0]]
  for arg in argv[1:]:
    name = arg.lstrip("-").split("=")[0]
    bare = name[2:] if name.startswith("no") and name[2:] in own_names else name
    (_BASE if arg.startswith("--") and bare not in own_names else own).append(arg)
  try:
    return FLAGS(own)
  except flags.Error as e:
    _common.die(str(e))


def main(argv):
  _common.start(argv)  # no stray arguments; quiet logs: it only reads checkpoints

  def sweep():
    flagfiles = [a.split("=", 1)[1] for a in _BASE if a.startswith("--flagfile=")]
    if len(flagfiles) != 1:
      raise ValueError("give exactly one base config: --flagfile=launch/configs/<game>.flags")
    if not os.path.isfile(flagfiles[0]):
      raise ValueError(f"--flagfile={flagfiles[0]} does not exist")
    if not FLAGS.name or not all(c.isalnum() or c in "_-." for c in FLAGS.name):
      raise ValueError("--name is required: letters, digits, '_', '-' and '.' only")
    if FLAGS.seeds < 1:
      raise ValueError(f"--seeds must be at least 1, got {FLAGS.seeds}")
    from agents.configs import MAX_SEED
    if not 0 <= FLAGS.base_seed <= MAX_SEED - FLAGS.seeds + 1:
      raise ValueError(f"--base_seed must be in [0, {MAX_SEED - FLAGS.seeds + 1}] for "
                       f"--seeds={FLAGS.seeds}, got {FLAGS.base_seed}")
    from agents import specs
    specs.parse(FLAGS.score_opponent)  # a bad spec: refused before anything runs
    protocol = _common.config_from_flags(ablation.Protocol)
    config_lib.check(protocol)
    if protocol.games % 2:
      raise ValueError(f"--score_games must be even (colours alternate), got {protocol.games}")
    axes = ablation.parse_grid(FLAGS.grid)
    launcher = (ablation.detect_launcher(flagfiles[0]) if FLAGS.launcher == "auto"
                else FLAGS.launcher)
    extra = [a for a in _BASE if not a.startswith("--flagfile=")]
    passed = {a.lstrip("-").split("=")[0] for a in extra}
    clash = passed & ({n for n, _ in axes} | {"workdir", "seed", "num_seeds"})
    if clash:
      raise ValueError(f"--{sorted(clash)[0]} is set by the sweep (grid, --seeds or the "
                       "run's workdir); drop it")
    out_dir = os.path.join(FLAGS.out, FLAGS.name)
    units = ablation.plan(launcher, flagfiles[0], axes, FLAGS.seeds, FLAGS.base_seed, extra,
                          os.path.abspath(os.path.join(FLAGS.workdir_root, FLAGS.name)))
    ablation.check_units(units, protocol)  # before the first run trains
    num_points = len(ablation.grid_points(axes))
    points = f"{num_points} grid point{'s' if num_points != 1 else ''}"
    how = (f"{points}; {FLAGS.seeds} seeds each, side by side in one program"
           if units[0].vmapped else f"{points} x {FLAGS.seeds} seeds")
    print(f"{len(units)} runs ({how}) with {ablation.LAUNCHERS[launcher]}; "
          f"results in {out_dir}")
    results = ablation.run_all(units, protocol, out_dir, backend=FLAGS.backend,
                               ray_address=FLAGS.ray_address,
                               cpus_per_run=FLAGS.ray_cpus_per_run, progress=FLAGS.progress)
    points = ablation.group_by_point(results)
    ablation.plot_curves(os.path.join(out_dir, "curves.png"), FLAGS.name, points)
    command = "python launch/ablate.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    ablation.write_summary(os.path.join(out_dir, "summary.md"), FLAGS.name, command, points,
                           launcher, protocol, "curves.png")
    print(f"done: {out_dir}/summary.md")

  _common.run_guarded(sweep, (RuntimeError,),
                      interrupted="interrupted; the same command resumes the sweep")


if __name__ == "__main__":
  app.run(main, flags_parser=_split_argv)
