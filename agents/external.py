"""External engines as tournament players, over the Go Text Protocol.

`GtpClient` runs any GTP engine as a child process and speaks GTP version 2
to it; `GtpPlayer` makes one a `zerogo.arena.Player` for Go games. GNU Go
(`/usr/games/gnugo --mode gtp`) is the reference opponent.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import shlex
import subprocess
import threading
import time

from envs import go
from zerogo import arena


class GtpError(RuntimeError):
  """The engine answered `? ...`, died, or said something that is not GTP."""


class GtpClient:
  """One engine process. `send("genmove b") -> "D4"`; failures raise GtpError.

  Every command waits at most `timeout_s` seconds for its answer: an engine
  that stops answering (or never speaks GTP, like `cat`) is an error, never a
  hang. Output is decoded as UTF-8 with undecodable bytes replaced."""

  def __init__(self, command: str, timeout_s: float = 60.0):
    if not (timeout_s > 0 and math.isfinite(timeout_s)):
      raise ValueError(f"the GTP timeout must be a positive number of seconds, got {timeout_s}")
    argv = shlex.split(command)
    if not argv:
      raise ValueError("empty GTP engine command")
    try:
      self._proc = subprocess.Popen(
          argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
          stderr=subprocess.DEVNULL, bufsize=0)
    except OSError as e:
      raise ValueError(f"cannot start GTP engine {command!r}: {e.strerror}") from None
    self.command = command
    self.timeout_s = timeout_s
    self._lines: queue.Queue = queue.Queue()
    threading.Thread(target=self._read, args=(self._proc.stdout, self._lines),
                     daemon=True).start()

  @staticmethod
  def _read(stream, lines: queue.Queue) -> None:
    """Reader thread: each output line, decoded safely; None at end of output."""
    try:
      for raw in iter(stream.readline, b""):
        lines.put(raw.decode("utf-8", errors="replace"))
    except (OSError, ValueError):
      pass
    lines.put(None)

  def _readline(self, command: str, deadline: float) -> str:
    try:
      line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
      raise GtpError(f"engine {self.command!r} did not answer {command!r} within "
                     f"{self.timeout_s:g} s") from None
    if line is None:
      self._lines.put(None)  # the end stays visible to later calls
      raise GtpError(f"engine {self.command!r} stopped answering after {command!r}")
    return line

  def send(self, command: str) -> str:
    command = command.strip()
    if self._proc.poll() is not None:
      raise GtpError(f"engine {self.command!r} exited with status {self._proc.returncode}")
    try:
      self._proc.stdin.write(command.encode("utf-8") + b"\n")
      self._proc.stdin.flush()
    except (BrokenPipeError, ValueError, OSError):
      raise GtpError(f"engine {self.command!r} closed its input") from None
    deadline = time.monotonic() + self.timeout_s
    lines = []
    while True:
      line = self._readline(command, deadline).rstrip("\r\n")
      if line.strip():
        if not lines and not line.startswith(("=", "?")):
          raise GtpError(f"engine {self.command!r} answered {line[:80]!r} to {command!r}, "
                         "not GTP")
        lines.append(line)
      elif lines:  # a blank line ends the response; stray ones before it are skipped
        break
    head, body = lines[0], "\n".join(lines)
    if head.startswith("="):
      return body[1:].strip()
    raise GtpError(f"{command!r}: {body[1:].strip()}")

  def close(self) -> None:
    """Asks the engine to quit, waits a few seconds, then kills it."""
    if self._proc.poll() is None:
      with contextlib.suppress(OSError, ValueError):
        self._proc.stdin.write(b"quit\n")
        self._proc.stdin.flush()
      with contextlib.suppress(OSError, ValueError):
        self._proc.stdin.close()
      try:
        self._proc.wait(timeout=min(5.0, self.timeout_s))
      except subprocess.TimeoutExpired:
        self._proc.kill()
        self._proc.wait()


class GtpPlayer(arena.Player):
  """A GTP engine playing Go through `zerogo.arena.play_game`.

  Each game starts with `boardsize`, `clear_board` and `komi`; the
  opponent's moves are sent with `play`, and `genmove` asks for ours.
  `final_score()` asks the engine for its own count of the finished game.
  """

  def __init__(self, command: str, name: str | None = None, timeout_s: float = 60.0):
    self.client = GtpClient(command, timeout_s)
    self.name = name or f"gtp:{os.path.basename(shlex.split(command)[0])}"
    self._size = 0
    self._moves = 0
    self._mine_pending = False

  def new_game(self, env, first: bool) -> None:
    if not go.is_go(env.id):
      raise ValueError(f"GTP engines play Go; this tournament is {env.id}")
    self._size = go.board_size(env.id)
    self._color = "b" if first else "w"  # pgx: the first mover is black
    self._moves = 0
    self._mine_pending = False
    self.client.send(f"boardsize {self._size}")
    self.client.send("clear_board")
    self.client.send(f"komi {env.komi:g}")

  def genmove(self, state, key) -> int:
    del key
    answer = self.client.send(f"genmove {self._color}").strip().lower()
    if answer == "resign":
      return arena.RESIGN
    self._mine_pending = True
    try:
      return go.vertex_to_action(answer, self._size)
    except ValueError:
      raise GtpError(f"engine {self.client.command!r} answered genmove with {answer!r}") from None

  def observe(self, action: int) -> None:
    color = go.color_of_ply(self._moves)
    self._moves += 1
    if self._mine_pending and color == self._color:
      self._mine_pending = False
      return  # the engine already placed its own move
    self.client.send(f"play {color} {go.action_to_vertex(action, self._size)}")

  def final_score(self) -> float | None:
    """Black minus white by the engine's count, or None if it will not say."""
    try:
      text = self.client.send("final_score").strip().upper()
      return 0.0 if text == "0" else {"B+": 1.0, "W+": -1.0}[text[:2]] * float(text[2:])
    except (GtpError, KeyError, ValueError):  # B+R (resignation), or not a score
      return None

  def close(self) -> None:
    self.client.close()
