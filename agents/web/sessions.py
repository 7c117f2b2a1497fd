"""Games a person plays on the web board: one `Game` per browser tab, the
opponents they can choose, and what the page is shown after each move.

Everything here is host-side and framework-free (the HTTP layer is
`agents.web.app`). A `Game` keeps its positions, so undo is a pop; its lock
serialises requests for it, and `Games` holds a bounded number of them.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import secrets
import threading
import time
from typing import Any

import numpy as np

from envs import board_svg, notation

# Two-player games offered with the baseline opponents; the games of loaded
# agents come first. Larger ones (chess, shogi) are a checkpoint away.
BASELINE_GAMES = ("tic_tac_toe", "connect_four", "othello", "go_9x9", "hex",
                  "animal_shogi", "gardner_chess")
MAX_UCT_SIMULATIONS = 5000
TOP_MOVES = 8


class BadRequest(ValueError):
  """The request cannot be done (illegal move, not your turn, unknown game):
  one sentence for the page; the HTTP layer answers 4xx."""


class NotFound(KeyError):
  """No such game (expired or never made)."""


@dataclasses.dataclass
class Opponent:
  """A JAX agent with its calls compiled once and shared by every game."""
  name: str
  agent: Any
  analyse: Any            # jitted (params, states[1], key) -> Analysis, or None
  act: Any                # jitted (params, states[1], key) -> int32[1]


class Opponents:
  """The agents the board offers: the loaded ones (by the label they were
  given on the command line) and `random`, `uct:N`, `minimax` for every game
  in `games()`. Agents are built and compiled on first use, then cached."""

  def __init__(self, loaded: dict[str, Any] | None = None, *, max_cached: int = 32):
    self.loaded = dict(loaded or {})
    self._cache: collections.OrderedDict[tuple[str, str], Opponent] = collections.OrderedDict()
    self._max_cached = max_cached
    self._lock = threading.Lock()
    self._envs: dict[str, Any] = {}

  def games(self) -> list[str]:
    """Two-player games on offer: the loaded agents' first."""
    own = [a.env_id for a in self.loaded.values() if a.env.num_players == 2]
    return list(dict.fromkeys(own + list(BASELINE_GAMES)))

  def one_player_agents(self) -> list[str]:
    return [label for label, a in self.loaded.items() if a.env.num_players == 1]

  def names(self, env_id: str) -> list[str]:
    """Opponent names for `env_id`; uct takes any budget as uct:N."""
    own = [label for label, a in self.loaded.items() if a.env_id == env_id]
    return own + (["minimax"] if env_id == "tic_tac_toe" else []) + ["uct:200", "random"]

  def env(self, env_id: str):
    if env_id not in self.games():
      raise BadRequest(f"unknown game {env_id!r}; choose one of {', '.join(self.games())}")
    if env_id not in self._envs:
      import envs
      self._envs[env_id] = envs.make(env_id)
    return self._envs[env_id]

  def _make_agent(self, env_id: str, name: str):
    from agents import baselines
    if name in self.loaded:
      agent = self.loaded[name]
      if agent.env_id != env_id:
        raise BadRequest(f"{name} plays {agent.env_id}, not {env_id}")
      return agent
    env = self.env(env_id)
    if name == "random":
      return baselines.random_agent(env)
    if name == "minimax":
      if env_id not in baselines.MINIMAX_GAMES:
        raise BadRequest(f"minimax plays only {', '.join(baselines.MINIMAX_GAMES)}")
      return baselines.minimax_agent(env)
    kind, _, count = name.partition(":")
    if kind == "uct" and count.isdigit() and 1 <= int(count) <= MAX_UCT_SIMULATIONS:
      return baselines.uct_agent(env, int(count))
    raise BadRequest(f"unknown opponent {name!r}; choose one of "
                     f"{', '.join(self.names(env_id))} or uct:N (N 1..{MAX_UCT_SIMULATIONS})")

  def get(self, env_id: str, name: str) -> Opponent:
    key = (env_id, name)
    with self._lock:
      if key in self._cache:
        self._cache.move_to_end(key)
        return self._cache[key]
    import jax
    agent = self._make_agent(env_id, name)
    opponent = Opponent(name, agent, jax.jit(agent.analyse) if agent.analyse else None,
                        jax.jit(agent.apply))
    with self._lock:
      self._cache[key] = opponent
      while len(self._cache) > self._max_cached:
        self._cache.popitem(last=False)
    return opponent


  def warm_up(self, name: str) -> None:
    """Compiles loaded agent `name`'s search on its game's first position,
    so the first move a person asks for does not wait for the compiler."""
    import jax
    agent = self.loaded[name]
    if agent.env.num_players != 2:
      return
    opponent = self.get(agent.env_id, name)
    key = jax.random.PRNGKey(0)
    start = self.env(agent.env_id).init(key)
    batched = jax.tree.map(lambda x: np.asarray(x)[None], start)
    jax.block_until_ready((opponent.analyse or opponent.act)(agent.params, batched, key))
    jax.block_until_ready(_jitted_step(self.env(agent.env_id))(start, np.int32(0), key))


def mark_names(env_id: str) -> tuple[str, str]:
  """What the first and second player are called in `env_id`."""
  return ("X", "O") if env_id == "tic_tac_toe" else ("black", "white")


class Game:
  """One game between a person and an opponent. Positions are kept (undo
  pops them); `analysis` is the opponent's view of the last position it
  looked at, drawn on the board."""

  def __init__(self, game_id: str, opponents: Opponents, env_id: str, opponent: str,
               human_first: bool, seed: int):
    import jax
    self.id, self.env_id, self.seed = game_id, env_id, seed
    self.opponent = opponents.get(env_id, opponent)
    self.env = opponents.env(env_id)
    self._step = _jitted_step(self.env)
    start = self.env.init(jax.random.PRNGKey(seed))
    first = int(start.current_player)
    self.human = first if human_first else 1 - first
    self.human_first = human_first
    self.states = [start]
    self.actions: list[int] = []
    self.movers: list[str] = []
    self.resigned = False
    self.analysis: dict | None = None
    self.analysis_ply = -1
    self.last_think_s: float | None = None
    self.lock = threading.Lock()
    self.touched = time.monotonic()

  # -- state ----------------------------------------------------------------
  @property
  def state(self):
    return self.states[-1]

  @property
  def over(self) -> bool:
    return self.resigned or bool(self.state.terminated | self.state.truncated)

  @property
  def human_to_move(self) -> bool:
    return not self.over and int(self.state.current_player) == self.human

  # -- moves ----------------------------------------------------------------
  def _play(self, action: int, mover: str) -> None:
    import jax
    key = jax.random.fold_in(jax.random.PRNGKey(self.seed), len(self.actions))
    self.states.append(self._step(self.state, np.int32(action), key))
    self.actions.append(int(action))
    self.movers.append(mover)

  def human_move(self, *, move: str | None = None, action: int | None = None) -> None:
    """Plays the person's move, given as text in the game's notation or as
    an action number; BadRequest if it is not theirs to play or not legal."""
    if self.over:
      raise BadRequest("the game is over; start a new one or undo")
    if not self.human_to_move:
      raise BadRequest("it is the agent's turn")
    legal = np.asarray(self.state.legal_action_mask)
    if move is not None:
      try:
        action = notation.text_to_move(self.env_id, move, self.state)
      except ValueError as e:
        raise BadRequest(str(e)) from None
    if action is None or not 0 <= action < legal.shape[0]:
      raise BadRequest(f"a move is an action 0..{legal.shape[0] - 1} or its text")
    if not legal[action]:
      raise BadRequest(f"{notation.move_to_text(self.env_id, action)} is not legal here")
    self._play(action, "you")
    self.analysis = None

  def think(self) -> dict:
    """The opponent's analysis of the current position (for the side to
    move), also kept for drawing."""
    import jax
    key = jax.random.fold_in(jax.random.PRNGKey(self.seed + 1), len(self.actions))
    batched = jax.tree.map(lambda x: np.asarray(x)[None], self.state)
    legal = np.asarray(self.state.legal_action_mask)
    started = time.perf_counter()
    if self.opponent.analyse is not None:
      out = jax.device_get(self.opponent.analyse(self.opponent.agent.params, batched, key))
      action, visits, value = int(out.action[0]), np.asarray(out.visits[0]), float(out.value[0])
    else:
      action = int(self.opponent.act(self.opponent.agent.params, batched, key)[0])
      visits, value = np.zeros(legal.shape, np.float32), math.nan
      visits[action] = 1.0
    self.last_think_s = time.perf_counter() - started
    visits = np.where(legal, visits, 0.0)
    order = np.argsort(-visits, kind="stable")[:TOP_MOVES]
    self.analysis = {
        "action": action, "move": notation.move_to_text(self.env_id, action),
        "value": None if math.isnan(value) else round(value, 4),
        "for": "agent" if int(self.state.current_player) != self.human else "you",
        "top": [{"action": int(a), "move": notation.move_to_text(self.env_id, int(a)),
                 "share": round(float(visits[a]), 4)} for a in order if visits[a] > 0],
        "seconds": round(self.last_think_s, 3)}
    self.analysis_ply = len(self.actions)
    return self.analysis

  def agent_move(self) -> None:
    """The opponent thinks and plays its move; BadRequest if not its turn."""
    if self.over:
      raise BadRequest("the game is over")
    if self.human_to_move:
      raise BadRequest("it is your turn")
    analysis = self.think()
    self._play(analysis["action"], "agent")

  def undo(self) -> None:
    """Takes back moves until it is the person's turn again, at least one
    of theirs (or a resignation)."""
    if self.resigned:
      self.resigned = False
      return
    if "you" not in self.movers:
      raise BadRequest("nothing to undo")
    while self.movers:
      mover = self.movers.pop()
      self.actions.pop()
      self.states.pop()
      if mover == "you":
        break
    self.analysis = None

  def resign(self) -> None:
    if self.over:
      raise BadRequest("the game is over")
    self.resigned = True

  # -- what the page shows ---------------------------------------------------
  def result(self) -> dict | None:
    if not self.over:
      return None
    if self.resigned:
      return {"score": 0.0, "text": "You resigned: the agent wins."}
    reward = float(np.asarray(self.state.rewards)[self.human])
    score = 1.0 if reward > 0 else (0.0 if reward < 0 else 0.5)
    text = {1.0: "You win!", 0.0: "The agent wins.", 0.5: "Draw."}[score]
    return {"score": score, "text": text}

  def view(self) -> dict:
    legal = np.flatnonzero(np.asarray(self.state.legal_action_mask)) if not self.over else []
    draw_analysis = self.analysis is not None and self.analysis_ply >= len(self.actions) - 1
    shares = ({t["action"]: t["share"] for t in self.analysis["top"]}
              if draw_analysis else None)
    marks = mark_names(self.env_id)
    return {
        "id": self.id, "env": self.env_id, "opponent": self.opponent.name,
        "you": marks[0] if self.human_first else marks[1],
        "agent": marks[1] if self.human_first else marks[0],
        "to_move": None if self.over else ("you" if self.human_to_move else "agent"),
        "moves": [{"move": notation.move_to_text(self.env_id, a), "by": by}
                  for a, by in zip(self.actions, self.movers, strict=True)],
        "legal": [{"action": int(a), "move": notation.move_to_text(self.env_id, int(a))}
                  for a in legal],
        "svg": board_svg.board_svg(self.env_id, self.state, shares=shares,
                                   last_move=self.actions[-1] if self.actions else None,
                                   clickable=self.human_to_move,
                                   shares_state=self.states[self.analysis_ply]
                                   if draw_analysis else None),
        "clickable": board_svg.geometry(self.env_id) is not None,
        "analysis": self.analysis if draw_analysis else None,
        "result": self.result(), "can_undo": "you" in self.movers or self.resigned,
    }


_STEPS: dict[int, Any] = {}


def _jitted_step(env):
  import jax
  if id(env) not in _STEPS:
    _STEPS[id(env)] = jax.jit(env.step)
  return _STEPS[id(env)]


class Games:
  """Every open game, by id; the least recently used goes when there are
  more than `max_games`."""

  def __init__(self, opponents: Opponents, *, max_games: int = 500):
    self.opponents, self.max_games = opponents, max_games
    self._games: collections.OrderedDict[str, Game] = collections.OrderedDict()
    self._lock = threading.Lock()

  def new(self, env_id: str, opponent: str, human_first: bool, seed: int | None = None) -> Game:
    game_id = secrets.token_urlsafe(12)
    seed = secrets.randbelow(2**31) if seed is None else seed
    game = Game(game_id, self.opponents, env_id, opponent, human_first, seed)
    with self._lock:
      self._games[game_id] = game
      while len(self._games) > self.max_games:
        self._games.popitem(last=False)
    return game

  def get(self, game_id: str) -> Game:
    with self._lock:
      game = self._games.get(game_id)
      if game is None:
        raise NotFound(game_id)
      self._games.move_to_end(game_id)
      return game

  def __len__(self) -> int:
    return len(self._games)
