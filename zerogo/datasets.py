"""Game records -> training positions, by replaying every game through the env.

Reads SGF files (Go of any size: handicap and other setup stones, passes,
resignations, komi, results) and the tournament's `games.jsonl` (any pgx
game, moves in the game's notation, `envs.notation`), and replays each game
with the jitted pgx env, so every position's observation and legal-move
mask are exactly what a trainer would see in self-play. A position is
(observation, legal mask, played move, final result from the mover's side:
+1 won, 0 drawn, -1 lost), tagged with its game and the mover's name.

A game that does not replay (a move that is illegal or off the board, a
board of another size, an unknown ruleset, no result, unreadable text) is
skipped and counted, with the first reason kept for the user; reading
never stops on one bad record.

Go setup stones are replayed as moves: each stone is played by its colour,
with a pass by the other colour where two stones of one colour follow each
other, and one more pass if needed so the recorded first mover is to move.
Those plies are not training positions, and the observation's history
planes show the stones arriving one by one (pgx has no setup positions).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
from typing import Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

import envs
from envs import go, notation
from zerogo import sgf

# Area-scoring rulesets (pgx scores by area) and the territory ones whose
# moves replay the same; anything else is skipped as an unknown ruleset.
KNOWN_RULESETS = ("", "chinese", "cn", "aga", "nz", "new zealand", "tromp-taylor", "tt",
                  "japanese", "jp", "korean", "ing", "goe")


@dataclasses.dataclass
class Game:
  """One record before replay. `actions`: every ply to replay (Go setup
  plies first); positions are taken from ply `first_position` on.
  `first_score`: the result of the player of ply 0 (1 win, 0.5 draw, 0
  loss; black in Go), None if the record has none. `players`: (player of
  ply 0, the other)."""
  source: str
  actions: list[int]
  first_position: int = 0
  first_score: float | None = None
  players: tuple[str, str] = ("?", "?")
  komi: float | None = None
  order: int = 0              # place among all records read (first reasons)


@dataclasses.dataclass
class Positions:
  """Training positions (host numpy arrays), N of them.

  observation: [N, *observation_shape]; legal_action_mask: [N, A] bool;
  action: [N] int32 the move played; value: [N] float32 the game's result
  from the mover's side (+1, 0, -1); game: [N] int32 index of the game in
  `ReadReport.sources`; player: [N] int32 index into `ReadReport.player_names`.
  """
  observation: np.ndarray
  legal_action_mask: np.ndarray
  action: np.ndarray
  value: np.ndarray
  game: np.ndarray
  player: np.ndarray

  def __len__(self) -> int:
    return int(self.action.shape[0])

  def take(self, index) -> "Positions":
    return Positions(**{f.name: getattr(self, f.name)[index]
                        for f in dataclasses.fields(self)})


@dataclasses.dataclass
class ReadReport:
  """What reading found: games replayed and skipped, the first skip reason."""
  games: int = 0
  skipped: int = 0
  first_skip: str = ""
  sources: list[str] = dataclasses.field(default_factory=list)
  player_names: list[str] = dataclasses.field(default_factory=list)

  _first_order: int = -1

  def skip(self, source: str, reason: str, order: int = 0) -> None:
    """Counts a skipped record; keeps the reason of the one that comes
    first in reading order (`order`: its place among all records)."""
    self.skipped += 1
    if not self.first_skip or order < self._first_order:
      self.first_skip, self._first_order = f"{source}: {reason}", order

  def summary(self) -> str:
    text = f"{self.games} games replayed"
    if self.skipped:
      text += f", {self.skipped} skipped (first: {self.first_skip})"
    return text


class _Skip(ValueError):
  """A record that cannot be replayed; the message is the reason."""


# ---------------------------------------------------------------------------
# Parsing: text -> Game (host only, no replay yet).

def result_score(result: str) -> float | None:
  """Black's score from an SGF/GTP result (`B+3.5`, `W+R`, `0`, `Draw`);
  None when the game has no result (`?`, `Void`, empty)."""
  text = result.strip().upper()
  if text in ("0", "DRAW", "D", "JIGO"):
    return 0.5
  if text[:2] == "B+":
    return 1.0
  if text[:2] == "W+":
    return 0.0
  return None


def setup_plies(black: Sequence[int], white: Sequence[int], first_color: str,
                size: int) -> list[int]:
  """Setup stones as plies from an empty board with black to move: each
  stone by its colour, a pass where the colour to move is the other one,
  ending with `first_color` to move."""
  plies, to_move = [], "B"
  for color, stones in (("B", black), ("W", white)):
    for stone in stones:
      if to_move != color:
        plies.append(go.pass_action(size))
        to_move = color
      plies.append(int(stone))
      to_move = "W" if color == "B" else "B"
  if plies and to_move != first_color:
    plies.append(go.pass_action(size))
  return plies


def game_from_sgf(text: str, env_id: str, source: str) -> Game:
  if not go.is_go(env_id):
    raise _Skip(f"SGF records are Go games, not {env_id}")
  try:
    record = sgf.read(text)
  except ValueError as e:
    raise _Skip(f"unreadable SGF ({e})") from None
  size = go.board_size(env_id)
  if record.size != size:
    raise _Skip(f"a {record.size}x{record.size} game, not {env_id}")
  if record.rules.strip().lower() not in KNOWN_RULESETS:
    raise _Skip(f"unknown ruleset RU[{record.rules}]")
  setup = setup_plies(record.setup_black, record.setup_white, record.first_color, size)
  # Ply 0 is black's (a setup stone, a pass, or the first move), so black is
  # the first mover of the replay whatever the record's first_color.
  return Game(source=source, actions=setup + record.moves, first_position=len(setup),
              first_score=result_score(record.result), players=(record.black, record.white),
              komi=record.komi)


def game_from_row(row: dict, env_id: str, num_actions: int, source: str) -> Game:
  """A games.jsonl row (`zerogo.records.game_row`): moves in the game's
  notation, or pgx actions when a row has no `moves`."""
  if not isinstance(row, dict):
    raise _Skip("not a JSON object")
  try:
    if "moves" in row:
      actions = [notation.parse_move(env_id, str(m), num_actions) for m in row["moves"]]
    else:
      actions = [int(a) for a in row["actions"]]
  except (ValueError, TypeError) as e:
    raise _Skip(f"bad move ({e})") from None
  except KeyError:
    raise _Skip("no moves") from None
  if "moves" in row and "actions" in row and [int(a) for a in row["actions"]] != actions:
    # Rows carry no game name: Go moves of another board size parse, to
    # other actions.
    raise _Skip(f"its moves are not {env_id} moves (recorded for another game?)")
  if any(not 0 <= a < num_actions for a in actions):
    raise _Skip(f"an action outside 0..{num_actions - 1}")
  score = row.get("score_first")
  if score not in (0, 0.5, 1, 0.0, 1.0, None):
    raise _Skip(f"score_first={score!r} is not 1, 0.5 or 0")
  return Game(source=source, actions=actions,
              first_score=None if score is None else float(score),
              players=(str(row.get("first", "?")), str(row.get("second", "?"))),
              komi=row.get("komi"))


def _files(paths: Iterable[str]) -> list[str]:
  out = []
  for path in paths:
    if os.path.isdir(path):
      found = sorted(glob.glob(os.path.join(path, "**", "*.sgf"), recursive=True)
                     + glob.glob(os.path.join(path, "**", "*.jsonl"), recursive=True))
      # A tournament directory holds each Go game twice (games.jsonl and sgf/).
      if any(f.endswith(".jsonl") for f in found) and any(f.endswith(".sgf") for f in found):
        found = [f for f in found if f.endswith(".sgf")]
      if not found:
        raise ValueError(f"--records: no *.sgf or *.jsonl files under {path}")
      out += found
    elif os.path.isfile(path):
      out.append(path)
    elif os.path.exists(path):  # /dev/null, a socket, a FIFO: nothing to read games from
      raise ValueError(f"--records: {path} is neither a file nor a directory")
    else:
      raise ValueError(f"--records: {path} does not exist")
  return out


def parse_records(paths: Iterable[str], env_id: str, report: ReadReport) -> list[Game]:
  """Every game in `paths` (files or directories of *.sgf and *.jsonl);
  records that do not parse are counted in `report`."""
  num_actions = envs.make(env_id).num_actions
  games: list[Game] = []
  order = 0

  def add(make, source):
    nonlocal order
    order += 1
    try:
      game = make()
    except json.JSONDecodeError:
      report.skip(source, "not JSON", order)
    except _Skip as e:
      report.skip(source, str(e), order)
    else:
      game.order = order
      games.append(game)

  for path in _files(paths):
    name = os.path.basename(path)
    try:
      with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    except OSError as e:
      order += 1
      report.skip(name, e.strerror or "unreadable", order)
      continue
    if path.endswith(".jsonl"):
      for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
          add(lambda line=line, source=f"{name}:{number}": game_from_row(
              json.loads(line), env_id, num_actions, source), f"{name}:{number}")
    else:
      add(lambda text=text, name=name: game_from_sgf(text, env_id, name), name)
  return games


# ---------------------------------------------------------------------------
# Replay: batches of games through the jitted env.

_OK, _ILLEGAL, _OVER = 0, 1, 2


def make_replay(env):
  """`replay(actions [G, T] int32, lengths [G]) -> dict` of per-ply arrays
  [G, T, ...] (observation, legal_action_mask, current_player, status: 0
  played, 1 illegal, 2 after the end) and per-game: first_player [G],
  terminated [G], first_reward [G] (the first mover's reward at the end)."""

  def one(actions, length):
    state = env.init(jax.random.PRNGKey(0))  # the key only picks pgx's player ids
    first = state.current_player

    def ply(state, inputs):
      t, action = inputs
      live = t < length
      over = state.terminated | state.truncated
      legal = state.legal_action_mask[action]
      status = jnp.where(over, _OVER, jnp.where(legal, _OK, _ILLEGAL))
      out = dict(observation=env.observe(state), legal_action_mask=state.legal_action_mask,
                 current_player=state.current_player,
                 status=jnp.where(live, status, _OK))
      stepped = env.step(state, action, jax.random.PRNGKey(0))
      keep = live & (status == _OK)
      state = jax.tree.map(lambda a, b: jnp.where(keep, a, b), stepped, state)
      return state, out

    final, per_ply = jax.lax.scan(ply, state, (jnp.arange(actions.shape[0]), actions))
    return per_ply, dict(first_player=first, terminated=final.terminated,
                         first_reward=final.rewards[first])

  return jax.jit(jax.vmap(one))


def _bucket(n: int, step: int = 16) -> int:
  return max(step, -(-n // step) * step)


def replay_games(env, games: Sequence[Game], report: ReadReport, *,
                 batch: int = 64, player_pattern: str | None = None,
                 winner_only: bool = False) -> Positions:
  """Replays `games` and returns their positions; games that do not replay
  are counted in `report`. `player_pattern`: keep only moves by players whose
  name matches this regex; `winner_only`: keep only the winner's moves."""
  replay = make_replay(env)
  pattern = re.compile(player_pattern) if player_pattern else None
  parts: dict[str, list] = {k: [] for k in ("observation", "legal_action_mask", "action",
                                            "value", "game", "player")}
  names = {n: i for i, n in enumerate(report.player_names)}
  by_length = sorted(range(len(games)), key=lambda i: len(games[i].actions))
  for start in range(0, len(by_length), batch):
    chunk = [games[i] for i in by_length[start:start + batch]]
    width = _bucket(max(1, max(len(g.actions) for g in chunk)))
    rows = _bucket(len(chunk), 8)
    actions = np.zeros((rows, width), np.int32)
    lengths = np.zeros(rows, np.int32)
    for i, g in enumerate(chunk):
      actions[i, :len(g.actions)] = g.actions
      lengths[i] = len(g.actions)
    per_ply, per_game = jax.device_get(replay(actions, lengths))
    for i, g in enumerate(chunk):
      status = per_ply["status"][i, :lengths[i]]
      bad = np.flatnonzero(status != _OK)
      if bad.size:
        t = int(bad[0])
        move = notation.move_to_text(env.id, int(actions[i, t]))
        what = "is illegal" if status[t] == _ILLEGAL else "comes after the game ended"
        report.skip(g.source, f"move {t + 1} ({move}) {what}", g.order)
        continue
      score = g.first_score
      if score is None:
        if not per_game["terminated"][i]:
          report.skip(g.source, "no result and the game did not end", g.order)
          continue
        score = (float(per_game["first_reward"][i]) + 1) / 2
      if not len(g.actions) - g.first_position:
        report.skip(g.source, "no moves", g.order)
        continue
      index = len(report.sources)
      report.sources.append(g.source)
      report.games += 1
      take = np.arange(g.first_position, lengths[i])
      movers = per_ply["current_player"][i, take]
      mover_first = movers == per_game["first_player"][i]
      value = np.where(mover_first, 2 * score - 1, 1 - 2 * score).astype(np.float32)
      player_ids = []
      for name in g.players:
        if name not in names:
          names[name] = len(report.player_names)
          report.player_names.append(name)
        player_ids.append(names[name])
      player = np.where(mover_first, player_ids[0], player_ids[1]).astype(np.int32)
      keep = np.ones(take.shape, bool)
      if pattern is not None:
        keep &= np.array([bool(pattern.search(g.players[0 if f else 1]))
                          for f in mover_first], bool)
      if winner_only:
        keep &= value > 0
      take = take[keep]
      parts["observation"].append(per_ply["observation"][i, take])
      parts["legal_action_mask"].append(per_ply["legal_action_mask"][i, take])
      parts["action"].append(actions[i, take])
      parts["value"].append(value[keep])
      parts["game"].append(np.full(take.shape, index, np.int32))
      parts["player"].append(player[keep])
  if not parts["action"]:
    obs_shape = tuple(env.observation_shape)
    return Positions(observation=np.zeros((0, *obs_shape), np.bool_),
                     legal_action_mask=np.zeros((0, env.num_actions), bool),
                     action=np.zeros(0, np.int32), value=np.zeros(0, np.float32),
                     game=np.zeros(0, np.int32), player=np.zeros(0, np.int32))
  return Positions(**{k: np.concatenate(v) for k, v in parts.items()})


def read_positions(paths: Iterable[str], env_id: str, *, player_pattern: str | None = None,
                   winner_only: bool = False) -> tuple[Positions, ReadReport]:
  """Every position of every record in `paths` that replays in `env_id`.
  Raises ValueError only for a path that does not exist or a directory
  with no records; bad records are counted in the report."""
  report = ReadReport()
  games = parse_records(paths, env_id, report)
  env = envs.make(env_id)
  positions = replay_games(env, games, report, player_pattern=player_pattern,
                           winner_only=winner_only)
  return positions, report


def split_by_game(positions: Positions, heldout_fraction: float,
                  seed: int = 0) -> tuple[Positions, Positions]:
  """(train, held out): whole games held out, so no held-out position has a
  sibling from its game in training. At least one game is held out when
  `heldout_fraction` > 0 and there are two or more games."""
  games = np.unique(positions.game)
  count = int(round(heldout_fraction * len(games)))
  if heldout_fraction > 0 and len(games) > 1:
    count = min(max(count, 1), len(games) - 1)
  held = np.random.default_rng(seed).permutation(games)[:count]
  mask = np.isin(positions.game, held)
  return positions.take(~mask), positions.take(mask)
