"""Raters: who ranks the clips of a query (host side, the one part of an
RLHF run that is not on device).

Every rater has `rank(queries, iteration) -> int32 [Q, K]`, each row the K
clip indices of a query best first. `queries` is `agents.preferences.Clips`
of host arrays [Q, K, ...]; `iteration` is the update the queries are for.
A rater must give the same answers when a resumed run asks again (exact
resume): the synthetic one draws its noise from (seed, iteration), the
person's answers are replayed from the labels file.

- SyntheticRater: by the hidden score of the objective (the env's return,
  or another objective), exactly, Boltzmann-rationally, or with mistakes.
- AIRater (RLAIF): by a trained agent's value estimate summed over a clip.
- HumanRater: a person in the terminal; every answer is appended to a
  JSONL file and fsynced before the next question.
"""

from __future__ import annotations

import json
import os
import re
from typing import Callable

import numpy as np


class SyntheticRater:
  """Ranks by `score` (the rater objective's hidden clip score).

  temperature 0: exact (ties broken at random: clips a rater cannot tell
  apart teach nothing either way); T > 0: Boltzmann-rational,
  the ranking drawn from Plackett-Luce with logits score / T (Gumbel
  noise on the scores, sorted). mistake_rate: the probability that one
  random adjacent pair of the ranking is swapped (two clips: flipped)."""

  def __init__(self, *, seed: int = 0, temperature: float = 0.0, mistake_rate: float = 0.0):
    self.seed, self.temperature, self.mistake_rate = seed, temperature, mistake_rate

  def rank(self, queries, iteration: int) -> np.ndarray:
    score = np.asarray(queries.score, np.float64)                        # [Q, K]
    rng = np.random.default_rng([self.seed, iteration])
    gumbel = rng.gumbel(size=score.shape)
    if self.temperature > 0:
      score = score / self.temperature + gumbel
    tie_break = rng.uniform(size=score.shape)
    ranking = np.stack([np.lexsort((t, -row)) for row, t in zip(score, tie_break)])
    ranking = ranking.reshape(score.shape).astype(np.int32)
    num_queries, num_clips = score.shape
    swap = rng.uniform(size=num_queries) < self.mistake_rate
    where = rng.integers(0, num_clips - 1, size=num_queries)
    for q in np.flatnonzero(swap):
      i = where[q]
      ranking[q, [i, i + 1]] = ranking[q, [i + 1, i]]
    return ranking


class AIRater:
  """Ranks clips by `value_fn(observations [N, *obs_shape]) -> [N]` summed
  over each clip's valid steps: a trained agent's judgement of how good the
  states are (RLAIF). `from_checkpoint` builds it from a PPO run."""

  def __init__(self, value_fn: Callable):
    self.value_fn = value_fn

  def rank(self, queries, iteration: int) -> np.ndarray:
    del iteration
    obs = np.asarray(queries.observation)
    lead = obs.shape[:3]                                                 # Q, K, L
    values = np.asarray(self.value_fn(obs.reshape(-1, *obs.shape[3:]))).reshape(lead)
    score = np.where(np.asarray(queries.valid), values, 0.0).sum(-1)
    return np.argsort(-score, axis=-1, kind="stable").astype(np.int32)

  @classmethod
  def from_checkpoint(cls, path: str, env_id: str) -> "AIRater":
    """The value head of a PPO checkpoint (seed 0) on `env_id`."""
    import dataclasses

    import jax

    from agents import loading, ppo
    from agents.configs import PPOConfig
    from zerogo import config as config_lib
    # Checked here so that a bad path or env is named by this flag.
    _, _, meta = loading.init_from_meta(path, algorithms=("ppo", "offline"),
                                        network_fields={"env_id": env_id},
                                        flag="rater_checkpoint")
    config = dataclasses.replace(config_lib.from_dict(PPOConfig, meta["config"]),
                                 init_from=path)
    env = ppo.make_env(config)
    network = ppo.make_network(config, env)
    params = jax.tree.map(lambda x: x[0], ppo.init_from_stacked(config, network, env, 1))
    value = jax.jit(lambda obs: network.apply(params, obs)[1])
    return cls(value)


# ---------------------------------------------------------------------------
# A person in the terminal.

class LabellingEnded(ValueError):
  """The person's input ended (EOF) before every query was answered."""


def parse_ranking(text: str, num_clips: int) -> np.ndarray | None:
  """"2>1>3" -> [1, 0, 2] (0-based clip indices best first); None unless
  it names every clip 1..K exactly once. For two clips a single number is
  the better one."""
  text = text.strip()
  if num_clips == 2 and text in ("1", "2"):
    text = f"{text}>{3 - int(text)}"
  if not re.fullmatch(r"\s*\d+(\s*>\s*\d+)*\s*", text):
    return None
  order = [int(x) - 1 for x in text.split(">")]
  if sorted(order) != list(range(num_clips)):
    return None
  return np.array(order, np.int32)


def _cartpole_lines(obs: np.ndarray, valid: np.ndarray) -> list[str]:
  """One line per step: cart position x, pole angle a, the track with the
  cart (o) and the pole's lean; `(ended)` where the episode ended."""
  lines = []
  for t in range(len(valid)):
    if not valid[t]:
      lines.append("(ended)")
      break
    x, _, theta, _ = obs[t]
    track = [" "] * 21
    track[int(np.clip(round(10 + x / 2.4 * 10), 0, 20))] = "o"
    lean = "/" if theta > 0.02 else "\\" if theta < -0.02 else "|"
    lines.append(f"x={x:+.2f} a={theta:+.2f} [{''.join(track)}]{lean}")
  return lines


def _minatar_lines(obs: np.ndarray, valid: np.ndarray, every: int) -> list[str]:
  """Every `every`-th screen as a character grid: one letter per object
  channel (a = channel 0, ...), `.` for empty."""
  lines = []
  for t in range(0, len(valid), every):
    if not valid[t]:
      lines.append("(ended)")
      break
    lines.append(f"step {t}")
    for row in obs[t]:                                                     # [W, C]
      lines.append("".join(chr(ord("a") + int(np.argmax(c))) if c.any() else "."
                           for c in row))
  return lines


def render_clips(env_id: str, queries, q: int, *, every: int = 5) -> str:
  """Query q's clips side by side as text (CartPole as numbers and a track,
  MinAtar screens as letter grids every `every`-th step)."""
  obs = np.asarray(queries.observation[q])                               # [K, L, ...]
  valid = np.asarray(queries.valid[q])
  if env_id == "CartPole-v1":
    columns = [_cartpole_lines(o, v) for o, v in zip(obs, valid)]
    legend = "x: cart position (|x| > 2.4 ends), a: pole angle (|a| > 0.21 ends)"
  elif obs.ndim == 5:
    columns = [_minatar_lines(o, v, every) for o, v in zip(obs, valid)]
    legend = "one letter per object channel (a = channel 0), . empty"
  else:
    raise ValueError(f"no text drawing of {env_id}'s observations for --rater=human")
  columns = [[f"clip {k + 1}"] + column for k, column in enumerate(columns)]
  width = max(len(line) for column in columns for line in column)
  rows = max(len(column) for column in columns)
  padded = [column + [""] * (rows - len(column)) for column in columns]
  lines = ["   ".join(cells[i].ljust(width) for cells in padded).rstrip() for i in range(rows)]
  return "\n".join([legend] + lines)


class HumanRater:
  """Asks a person to rank each query in the terminal.

  Every answer is appended to `path` (JSONL: iteration, query, ranking
  0-based best first) and fsynced before the next question, so nothing
  answered is lost; answers already in the file (a resumed run asks the
  same queries again) are replayed without asking. Bad input is explained
  and asked again; the end of input raises LabellingEnded."""

  def __init__(self, env_id: str, path: str, *, read: Callable[[str], str] = input,
               write: Callable[[str], None] = print):
    self.env_id, self.path, self.read, self.write = env_id, path, read, write
    self.saved: dict[tuple[int, int], list[int]] = {}
    if os.path.exists(path):
      with open(path) as f:
        for line in f:
          if line.strip():
            try:
              row = json.loads(line)
              self.saved[(int(row["iteration"]), int(row["query"]))] = row["ranking"]
            except (ValueError, KeyError, TypeError):
              continue  # a torn last line from a crash: that answer is asked again

  def _append(self, row: dict) -> None:
    with open(self.path, "a") as f:
      f.write(json.dumps(row) + "\n")
      f.flush()
      os.fsync(f.fileno())

  def rank(self, queries, iteration: int) -> np.ndarray:
    num_queries, num_clips = np.asarray(queries.score).shape
    out = np.zeros((num_queries, num_clips), np.int32)
    for q in range(num_queries):
      saved = self.saved.get((iteration, q))
      if saved is not None and sorted(saved) == list(range(num_clips)):
        out[q] = saved
        continue
      self.write(f"\nupdate {iteration}, query {q + 1} of {num_queries}:\n"
                 + render_clips(self.env_id, queries, q))
      example = ">".join(str(k) for k in range(num_clips, 0, -1))
      while True:
        try:
          text = self.read(f"rank the clips, best first (e.g. {example}): ")
        except EOFError:
          raise LabellingEnded(
              f"labelling stopped at update {iteration}, query {q + 1}; the answers so far "
              f"are in {self.path}: run the same command to continue") from None
        ranking = parse_ranking(text, num_clips)
        if ranking is not None:
          break
        self.write(f"  not a ranking of clips 1..{num_clips}: write each clip number once, "
                   f"best first, separated by '>' (e.g. {example})")
      out[q] = ranking
      self.saved[(iteration, q)] = ranking.tolist()
      self._append({"iteration": iteration, "query": q, "ranking": ranking.tolist()})
    return out
