"""Go Text Protocol (version 2) engine front end for a Go agent.

`GtpEngine(agent).serve(stdin, stdout)` answers a controller (GoGui, Sabaki,
GNU Go's twogtp, our tournament tool) line by line. Responses follow the
spec: `=[id] result` or `?[id] message`, then one blank line. Nothing a
controller sends can crash it: malformed lines, unknown commands, illegal
moves, wrong board sizes all get `? reason` and the engine keeps running.

Rules are pgx Go's (area scoring, positional superko ends the game); the
komi set by `komi` is used for `final_score` and for the engine's own pass
decision. The agent resigns when its value estimate falls below
`resign_threshold` (after `min_moves_before_resign` moves), and passes after
an opponent's pass when its own count says it is ahead.
"""

from __future__ import annotations

import math
from typing import BinaryIO, Callable, TextIO

import jax
import jax.numpy as jnp
import numpy as np

from envs import go
from zerogo.agent import Agent

COMMANDS = ("protocol_version", "name", "version", "known_command", "list_commands",
            "quit", "boardsize", "clear_board", "komi", "play", "genmove", "undo",
            "showboard", "final_score", "time_settings", "time_left")


class _GtpFailure(Exception):
  """A command that cannot be carried out: answered `? message`."""


def _ascii_digits(text: str) -> bool:
  return text.isascii() and text.isdigit()


class GtpEngine:

  def __init__(self, agent: Agent, *, name: str = "zerogo", version: str | None = None,
               resign_threshold: float = -0.95, min_moves_before_resign: int = 20,
               seed: int = 0):
    if not go.is_go(agent.env_id):
      raise ValueError(f"GTP plays Go; this agent plays {agent.env_id}")
    from zerogo import __version__
    self.agent = agent
    self.name = name
    self.version = version or __version__
    self.size = go.board_size(agent.env_id)
    self.komi = float(getattr(agent.env, "komi", 7.5))
    self.resign_threshold = resign_threshold
    self.min_moves_before_resign = min_moves_before_resign
    self._key = jax.random.PRNGKey(seed)
    self._step = jax.jit(agent.env.step)
    self._act = jax.jit(agent.apply)
    self._value = jax.jit(agent.value) if agent.value is not None else None
    self.quit = False
    self._handlers = self.dispatch()
    self._clear()

  # -- game state ------------------------------------------------------------

  def _clear(self) -> None:
    # The pgx player order is irrelevant here: colours are read from the
    # move count (black moves on even plies).
    self.state = self.agent.env.init(jax.random.PRNGKey(0))
    self.history: list = []   # the state before each move
    self.moves: list[int] = []

  def _game_over(self) -> bool:
    return bool(self.state.terminated | self.state.truncated)

  def _apply(self, action: int) -> None:
    if self._game_over():
      raise _GtpFailure("illegal move (the game is over)")
    if not bool(np.asarray(self.state.legal_action_mask)[action]):
      raise _GtpFailure("illegal move")
    self.history.append(self.state)
    self._key, key = jax.random.split(self._key)
    self.state = self._step(self.state, jnp.int32(action), key)
    self.moves.append(action)

  def _catch_up(self, color: str) -> None:
    """A controller may ask for two moves of one colour in a row: the other
    side is taken to have passed in between (unless that ends the game)."""
    if color != go.color_of_ply(len(self.moves)):
      if self.moves and self.moves[-1] == go.pass_action(self.size):
        raise _GtpFailure(f"it is not {'black' if color == 'b' else 'white'}'s turn")
      self._apply(go.pass_action(self.size))

  def _score(self) -> float:
    return go.area_score(go.stones(self.state), self.komi)

  # -- commands --------------------------------------------------------------

  def _color(self, text: str) -> str:
    color = {"b": "b", "black": "b", "w": "w", "white": "w"}.get(text.lower())
    if color is None:
      raise _GtpFailure(f"invalid color {text!r}")
    return color

  def _genmove(self, args: list[str]) -> str:
    if len(args) != 1:
      raise _GtpFailure("syntax error (genmove COLOR)")
    color = self._color(args[0])
    self._catch_up(color)
    if self._game_over():
      return "pass"
    batched = jax.tree.map(lambda x: jnp.asarray(x)[None], self.state)
    if (self._value is not None and len(self.moves) >= self.min_moves_before_resign
        and float(self._value(self.agent.params, batched)[0]) < self.resign_threshold):
      return "resign"
    mine = 1 if color == "b" else -1
    if self.moves[-1:] == [go.pass_action(self.size)] and mine * self._score() > 0:
      action = go.pass_action(self.size)  # the opponent passed, we are ahead: end the game
    else:
      self._key, key = jax.random.split(self._key)
      action = int(self._act(self.agent.params, batched, key)[0])
    self._apply(action)
    return go.action_to_vertex(action, self.size)

  def _play(self, args: list[str]) -> None:
    if len(args) != 2:
      raise _GtpFailure("syntax error (play COLOR VERTEX)")
    color = self._color(args[0])
    try:
      action = go.vertex_to_action(args[1], self.size)
    except ValueError as e:
      raise _GtpFailure(f"syntax error ({e})") from None
    self._catch_up(color)
    self._apply(action)

  def _boardsize(self, args: list[str]) -> None:
    if len(args) != 1 or not _ascii_digits(args[0]):
      raise _GtpFailure("syntax error (boardsize N)")
    if int(args[0]) != self.size:
      raise _GtpFailure("unacceptable size")
    self._clear()

  def _komi(self, args: list[str]) -> None:
    try:
      (value,) = args
      komi = float(value)
    except ValueError:
      raise _GtpFailure("syntax error (komi FLOAT)") from None
    if not math.isfinite(komi):
      raise _GtpFailure("syntax error (komi must be a finite number)")
    self.komi = komi

  def _undo(self, args: list[str]) -> None:
    if not self.history:
      raise _GtpFailure("cannot undo")
    self.state = self.history.pop()
    self.moves.pop()

  def _known(self, args: list[str]) -> str:
    if len(args) != 1:
      raise _GtpFailure("syntax error (known_command NAME)")
    return "true" if args[0] in COMMANDS else "false"

  def _quit(self, args: list[str]) -> None:
    self.quit = True

  def dispatch(self) -> dict[str, Callable[[list[str]], str | None]]:
    """Command name -> handler(args): the response text, None for an empty
    success, `_GtpFailure` for `? message`."""
    return {
        "protocol_version": lambda a: "2",
        "name": lambda a: self.name,
        "version": lambda a: self.version,
        "known_command": self._known,
        "list_commands": lambda a: "\n".join(COMMANDS),
        "quit": self._quit,
        "boardsize": self._boardsize,
        "clear_board": lambda a: self._clear(),
        "komi": self._komi,
        "play": self._play,
        "genmove": self._genmove,
        "undo": self._undo,
        "showboard": lambda a: "\n" + go.render(go.stones(self.state),
                                                 self.moves[-1] if self.moves else None),
        "final_score": lambda a: go.result_string(self._score()),
        # Accepted; the search budget is fixed by --num_simulations.
        "time_settings": lambda a: None,
        "time_left": lambda a: None,
    }

  # -- protocol ----------------------------------------------------------------
  # Command ids and sizes are ASCII digits: str.isdigit() also accepts "²" and
  # other Unicode digits, which int() then rejects.

  @staticmethod
  def _clean(line: str) -> str:
    # GTP 2 preprocessing: drop control characters but HT/LF, HT -> space,
    # drop comments.
    line = "".join(ch for ch in line if ch in "\t\n" or ord(ch) >= 32 and ord(ch) != 127)
    line = line.replace("\t", " ").split("#", 1)[0]
    return line.strip()

  def handle(self, line: str) -> str | None:
    """The full response (with its blank line) to one input line, or None
    for lines GTP says to ignore (empty, comments)."""
    line = self._clean(line)
    if not line:
      return None
    words = line.split()
    ident = ""
    if _ascii_digits(words[0]):
      ident, words = words[0], words[1:]
      if not words:
        return f"?{ident} syntax error (missing command)\n\n"
    command, args = words[0], words[1:]
    handler = self._handlers.get(command)
    # A command that fails leaves the game as it was (no half-applied
    # catch-up pass before an illegal move).
    saved = (self.state, list(self.history), list(self.moves), self._key)
    try:
      if handler is None:
        raise _GtpFailure("unknown command")
      result = handler(args)
    except Exception as e:
      self.state, self.history, self.moves, self._key = saved
      if isinstance(e, _GtpFailure):
        return f"?{ident} {e}\n\n"
      # Never die on input: report and carry on.
      # One line: a blank line inside a reply would end it early.
      detail = " ".join(str(e).split())[:200]
      return f"?{ident} internal error: {type(e).__name__}: {detail}\n\n"
    return f"={ident} {result}\n\n" if result else f"={ident}\n\n"

  def serve(self, stdin: BinaryIO | TextIO, stdout: BinaryIO | TextIO) -> None:
    """Answers `stdin` line by line until `quit` or end of input. Binary
    streams are decoded here, so bytes that are not UTF-8 become U+FFFD
    instead of killing the engine under a strict locale; a controller that
    closes its end ends the session quietly."""
    binary_out = not hasattr(stdout, "encoding")
    try:
      for line in stdin:
        if isinstance(line, bytes):
          line = line.decode("utf-8", errors="replace")
        response = self.handle(line)
        if response is not None:
          stdout.write(response.encode("utf-8", errors="replace") if binary_out else response)
          stdout.flush()
        if self.quit:
          break
    except BrokenPipeError:
      pass  # the controller went away: nothing left to answer
