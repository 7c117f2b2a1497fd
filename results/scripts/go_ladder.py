"""Elo ladder of a Go training run against GNU Go, over training time.

Plays each chosen checkpoint of a `launch/selfplay.py` workdir against GNU Go
at several levels and a random player (one `launch/tournament.py` gauntlet
per checkpoint, SGFs kept), plays the GNU Go levels against each other and
random once (the calibration), fits one Bradley-Terry Elo scale over all
games (anchored at random = 0, 95% bootstrap intervals), and writes

  OUT/ladder.md    per checkpoint: iteration, training CPU minutes, Elo with
                   CI, score against each opponent; the GNU Go levels' Elo
  OUT/ladder.png   Elo against training minutes, GNU Go levels as lines
  OUT/<name>/      each tournament's games.jsonl, sgf/ and standings.md

  python results/scripts/go_ladder.py --workdir=runs/go7 --env=go_7x7 \
      --steps=100,400,last --games=20 --final_games=100 --levels=0,10 \
      --out=results/alphazero_go_7x7/ladder
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

GNUGO = "gtp:/usr/games/gnugo --mode gtp --chinese-rules --capture-all-dead --level {}"


def _tournament(env, agents, games, out, seed, schedule):
  if os.path.exists(os.path.join(out, "standings.md")):
    return  # played already (the script resumes where it stopped)
  command = [sys.executable, os.path.join(ROOT, "launch", "tournament.py"), f"--env={env}",
             "--agents=" + ",".join(agents), f"--games_per_pair={games}",
             f"--schedule={schedule}", "--opening_moves=2", f"--seed={seed}",
             f"--out={out}", "--noprogress"]
  print("+", " ".join(command), flush=True)
  subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def _games(out):
  with open(os.path.join(out, "games.jsonl")) as f:
    return [json.loads(line) for line in f]


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--env", default="go_7x7")
  parser.add_argument("--steps", default="last",
                      help="checkpoint iterations, comma-separated ('last': the newest)")
  parser.add_argument("--games", type=int, default=20, help="games per opponent")
  parser.add_argument("--final_games", type=int, default=100,
                      help="games of the newest checkpoint against the strongest level")
  parser.add_argument("--levels", default="0,5,10", help="GNU Go levels")
  parser.add_argument("--out", required=True)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--sims", type=int, default=0,
                      help="simulations a move of the checkpoints (0: their own play budget)")
  args = parser.parse_args()

  from zerogo import metrics, ratings
  ckpt_dir = os.path.join(args.workdir, "checkpoints")
  saved = sorted(int(d) for d in os.listdir(ckpt_dir) if d.isdigit())
  steps = sorted({saved[-1] if s == "last" else int(s) for s in args.steps.split(",")})
  missing = [s for s in steps if s not in saved]
  if missing:
    sys.exit(f"error: no checkpoint for iterations {missing}; saved: {saved}")
  minutes = {row["iteration"]: row["train_s"] / 60
             for row in metrics.read_jsonl(os.path.join(args.workdir, "metrics.jsonl"))}
  engines = [GNUGO.format(level) for level in args.levels.split(",")]
  os.makedirs(args.out, exist_ok=True)

  calibration = os.path.join(args.out, "calibration")
  _tournament(args.env, engines + ["random"], args.games, calibration, args.seed,
              "round_robin")
  games = _games(calibration)
  names = {}
  for step in steps:
    name = f"ckpt:{os.path.join(ckpt_dir, str(step))}" + (f"@{args.sims}" if args.sims else "")
    out = os.path.join(args.out, f"iteration_{step}")
    _tournament(args.env, [name] + engines + ["random"], args.games, out, args.seed + step,
                "gauntlet")
    games += _games(out)
    names[step] = name
  more = args.final_games - args.games
  if more > 0:  # the headline pairing: the newest checkpoint against the strongest level
    out = os.path.join(args.out, f"iteration_{steps[-1]}_final")
    _tournament(args.env, [names[steps[-1]], engines[-1]], more, out, args.seed + 10**6,
                "gauntlet")
    games += _games(out)

  players = engines + ["random"] + list(names.values())
  triples = [(g["first"], g["second"], g["score_first"]) for g in games]
  table = ratings.elo_table(players, triples, "random", 0.0, num_bootstrap=300,
                            seed=args.seed)

  def score(a, b):
    points = [s if (f, o) == (a, b) else 1 - s for f, o, s in triples
              if {f, o} == {a, b}]
    return f"{100 * sum(points) / len(points):.0f}% of {len(points)}" if points else "-"

  short = {e: f"GNU Go {level}" for e, level in zip(engines, args.levels.split(","))}
  lines = ["| iteration | training minutes | Elo | 95% CI | "
           + " | ".join(f"vs {short[e]}" for e in engines) + " | vs random |",
           "| --- | --- | --- | --- | " + " | ".join("---" for _ in engines) + " | --- |"]
  for step, name in names.items():
    row = table[name]
    lines.append(f"| {step} | {minutes.get(step, float('nan')):.1f} | {row['elo']:.0f} | "
                 f"{row['ci95'][0]:.0f} .. {row['ci95'][1]:.0f} | "
                 + " | ".join(score(name, e) for e in engines) + f" | {score(name, 'random')} |")
  lines += ["", "| reference | Elo | 95% CI |", "| --- | --- | --- |"]
  for e in engines + ["random"]:
    lines.append(f"| {short.get(e, e)} | {table[e]['elo']:.0f} | "
                 f"{table[e]['ci95'][0]:.0f} .. {table[e]['ci95'][1]:.0f} |")
  with open(os.path.join(args.out, "ladder.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
  print("\n".join(lines))

  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  import plotting
  fig, ax = plt.subplots(figsize=(6.5, 4))
  xs = [minutes.get(s, float("nan")) for s in names]
  ys = [table[n]["elo"] for n in names.values()]
  lo = [table[n]["elo"] - table[n]["ci95"][0] for n in names.values()]
  hi = [table[n]["ci95"][1] - table[n]["elo"] for n in names.values()]
  ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label="zerogo AlphaZero")
  for e, colour in zip(engines + ["random"], ["C1", "C2", "C3", "C7"]):
    ax.axhline(table[e]["elo"], ls="--", color=colour, label=short.get(e, e))
  ax.set_ylabel("Elo (random = 0)")
  ax.set_title(f"{args.env}: Elo against training time (2-core CPU)")
  plotting.save(fig, [ax], os.path.join(args.out, "ladder.png"), "training minutes (CPU)",
                fontsize=8)


if __name__ == "__main__":
  main()
