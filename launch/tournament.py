r"""Play a tournament between agents and rate them (Elo with 95% intervals).

  python launch/tournament.py --env=connect_four --games_per_pair=100 \
    --agents=random,uct:50,uct:400,ckpt:runs/c4@64 --out=runs/tour_c4

Agent specs: ckpt:PATH[@SIMS], random, uct:N, minimax, gtp:COMMAND (Go),
e.g. gtp:/usr/games/gnugo --mode gtp --level 10. Writes
  OUT/standings.md   Elo +- CI, games, score; pairwise win/draw/loss matrix
  OUT/games.jsonl    every game: players, colours, moves, result
  OUT/sgf/*.sgf      one SGF record per game (Go only)
Games between two JAX agents run batched on device; games involving an
external engine run one at a time on the host. Colours alternate.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402

flags.DEFINE_string("env", None, "Game, e.g. connect_four or go_9x9.")
flags.DEFINE_list("agents", None, "Comma-separated agent specs: ckpt:PATH[@SIMS], random, "
                  "uct:N, minimax, gtp:COMMAND.")
flags.DEFINE_integer("games_per_pair", 20, "Games per pairing, colours alternated.",
                     upper_bound=10_000_000)
flags.DEFINE_enum("schedule", "round_robin", ["round_robin", "gauntlet"],
                  "round_robin: every pair; gauntlet: the first agent against each other.")
flags.DEFINE_string("out", None, "Output directory.")
flags.DEFINE_string("anchor", None, "Player whose Elo is fixed (default: random if "
                    "playing, else the first agent).")
flags.DEFINE_float("anchor_elo", 0.0, "Elo of the anchor.")
flags.DEFINE_float("komi", None, "Go only: komi for scoring and engines (default: the "
                   "env's, 9 on 7x7, 7.5 on 9x9).")
flags.DEFINE_integer("opening_moves", 0, "Random moves that open every game, the same in "
                     "both games of a colour-swapped pair: two deterministic agents "
                     "otherwise play the same two games over and over.",
                     upper_bound=10_000)
flags.DEFINE_integer("batch", 64, "Games played at once between two JAX agents.",
                     upper_bound=1_000_000)
flags.DEFINE_integer("bootstrap", 300, "Bootstrap resamples for the Elo intervals.",
                     upper_bound=1_000_000)
flags.DEFINE_integer("seed", 0, "Seed of the games.", lower_bound=0, upper_bound=2**31 - 1)
flags.DEFINE_float("gtp_timeout_s", 60.0, "Seconds an external (gtp:) engine may take to "
                   "answer one command; an engine that takes longer, or does not speak GTP, "
                   "ends the tournament with an error naming it.")
flags.DEFINE_bool("progress", True, "Show a progress bar with ETA.")
FLAGS = flags.FLAGS


def _validate():
  import envs
  from agents import specs
  envs.check_env_name(FLAGS.env)
  names = [a.strip() for a in FLAGS.agents if a.strip()]
  if len(names) < 2:
    raise ValueError("--agents needs at least two agent specs")
  if len(set(names)) != len(names):
    raise ValueError("--agents lists the same spec twice")
  parsed = {name: specs.parse(name) for name in names}
  go_game = FLAGS.env.startswith("go_")
  for spec in parsed.values():
    if spec.kind == "gtp" and not go_game:
      raise ValueError(f"{spec.text}: GTP engines play Go, not {FLAGS.env}")
  if FLAGS.komi is not None and not go_game:
    raise ValueError("--komi is for Go games only")
  if FLAGS.opening_moves < 0:
    raise ValueError(f"--opening_moves must be >= 0, got {FLAGS.opening_moves}")
  if not (FLAGS.gtp_timeout_s > 0 and FLAGS.gtp_timeout_s < float("inf")):
    raise ValueError(f"--gtp_timeout_s must be a positive number of seconds, "
                     f"got {FLAGS.gtp_timeout_s}")
  import math
  if FLAGS.komi is not None and not math.isfinite(FLAGS.komi):
    raise ValueError(f"--komi must be a finite number, got {FLAGS.komi}")
  if not math.isfinite(FLAGS.anchor_elo):
    raise ValueError(f"--anchor_elo must be a finite number, got {FLAGS.anchor_elo}")
  if FLAGS.bootstrap < 1:
    raise ValueError(f"--bootstrap must be at least 1, got {FLAGS.bootstrap}")
  if FLAGS.games_per_pair < 1 or FLAGS.batch < 2 or FLAGS.batch % 2:
    raise ValueError("--games_per_pair must be >= 1 and --batch even and >= 2")
  anchor = FLAGS.anchor or ("random" if "random" in names else names[0])
  if anchor not in names:
    raise ValueError(f"--anchor={anchor!r} is not one of --agents")
  return names, parsed, anchor


class Tournament:
  """Plays the schedule; `log.rows` holds one dict per game. `players`: name
  -> `arena.Player`, filled by the caller (JAX agents: `arena.AgentPlayer`s);
  `batch`: games played at once between two JAX agents; `opening_moves`: as
  in `arena.play_match`."""

  def __init__(self, env, out_dir, *, batch, opening_moves):
    from envs import go
    from zerogo import records
    self.env, self.players = env, {}
    self.batch, self.opening_moves = batch, opening_moves
    self.log = records.GameLog(out_dir, env.id, env.komi if go.is_go(env.id) else None)

  def close(self):
    self.log.close()
    for p in self.players.values():
      p.close()

  def _record(self, first, second, actions, score_first, reason, final_state=None,
              engine_scores=None):
    from envs import go
    final_board = (go.stones(final_state)
                   if final_state is not None and go.is_go(self.env.id) else None)
    self.log.add(first, second, actions, score_first, reason, final_board=final_board,
                 engine_scores=engine_scores)

  def play_batched(self, a, b, n, key, bar):
    import jax
    import numpy as np
    from zerogo import arena
    agent_a, agent_b = self.players[a].agent, self.players[b].agent
    played = 0
    while played < n:
      size = min(self.batch, n - played + (n - played) % 2)
      result = jax.device_get(arena.play_match(
          agent_a, agent_b, jax.random.fold_in(key, played), size, env=self.env,
          opening_moves=self.opening_moves))
      finals = (arena.replay_final(self.env, result.actions)
                if self.env.id.startswith("go_") else None)
      for i in range(min(size, n - played)):
        a_first = bool(result.a_first[i])
        first, second = (a, b) if a_first else (b, a)
        score = float(result.score[i]) if a_first else 1.0 - float(result.score[i])
        actions = np.asarray(result.actions[i][:int(result.moves[i])])
        final = jax.tree.map(lambda x: x[i], finals) if finals is not None else None
        self._record(first, second, actions, score, "end", final)
        bar.update(1)
      played += size

  def play_host(self, a, b, n, key, bar):
    import jax
    from zerogo import arena
    for g in range(n):
      first, second = (a, b) if g % 2 == 0 else (b, a)
      record = arena.play_game(self.env, self.players[first], self.players[second],
                               jax.random.fold_in(key, g), opening_moves=self.opening_moves,
                               opening_key=jax.random.split(key)[0], pair=g // 2)
      engine_scores = None
      if self.env.id.startswith("go_"):
        engine_scores = {name: self.players[name].final_score() for name in (first, second)
                         if hasattr(self.players[name], "final_score")}
      self._record(first, second, record.actions, record.score, record.reason,
                   record.extra.get("final_state"), engine_scores)
      bar.update(1)


def _standings(names, games, anchor, command) -> str:
  import jax
  from zerogo import ratings, records
  triples = [(g["first"], g["second"], g["score_first"]) for g in games]
  table = ratings.elo_table(names, triples, anchor, FLAGS.anchor_elo,
                            num_bootstrap=FLAGS.bootstrap, seed=FLAGS.seed)
  matrix = ratings.results_matrix(names, triples)
  lines = [f"# Tournament: {FLAGS.env}", "", "Command:", "", f"    {command}", "",
           f"{len(games)} games, {FLAGS.games_per_pair} per pairing ({FLAGS.schedule}), "
           f"colours alternated. Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
           f"JAX {jax.__version__} on {jax.devices()[0].device_kind}. "
           f"Date: {time.strftime('%Y-%m-%d')}.", ""]
  lines += ratings.standings_lines(names, table, matrix, anchor=anchor,
                                   anchor_rating=FLAGS.anchor_elo,
                                   num_bootstrap=FLAGS.bootstrap)
  lines += records.score_disagreement_lines(games)
  return "\n".join(lines) + "\n"


def main(argv):
  _common.start(argv, "env", "agents", "out")
  import jax
  import envs
  from envs import go
  from zerogo import arena, metrics
  from agents import external, specs

  def run():
    names, parsed, anchor = _validate()
    env = go.make(FLAGS.env, FLAGS.komi) if go.is_go(FLAGS.env) else envs.make(FLAGS.env)
    if env.num_players != 2:
      raise ValueError(f"tournaments rank two-player games; {FLAGS.env} has "
                       f"{env.num_players} player{'s' if env.num_players != 1 else ''} "
                       "(one-player agents are scored by their greedy return)")
    os.makedirs(FLAGS.out, exist_ok=True)
    pairs = (arena.round_robin if FLAGS.schedule == "round_robin" else arena.gauntlet)(names)
    tour = Tournament(env, FLAGS.out, batch=FLAGS.batch, opening_moves=FLAGS.opening_moves)
    bar = metrics.progress_bar(len(pairs) * FLAGS.games_per_pair, desc="games",
                               enabled=FLAGS.progress, unit="game")
    try:
      for name in names:  # every agent loads (every engine starts) before the first game
        tour.players[name] = specs.make_player(parsed[name], env,
                                                 gtp_timeout_s=FLAGS.gtp_timeout_s)
      for index, (a, b) in enumerate(pairs):
        key = jax.random.fold_in(jax.random.PRNGKey(FLAGS.seed), index)
        bar.set_description(f"{a} vs {b}"[:60])
        if specs.is_jax(parsed[a]) and specs.is_jax(parsed[b]):
          tour.play_batched(a, b, FLAGS.games_per_pair, key, bar)
        else:
          tour.play_host(a, b, FLAGS.games_per_pair, key, bar)
    finally:
      bar.close()
      tour.close()
    command = "python launch/tournament.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:])
    text = _standings(names, tour.log.rows, anchor, command)
    with open(os.path.join(FLAGS.out, "standings.md"), "w") as f:
      f.write(text)
    print(text)

  _common.run_guarded(run, (external.GtpError,))


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
