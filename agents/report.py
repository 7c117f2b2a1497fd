"""What a finished run produced, in a few lines a person reads.

`summarise(agent)` plays the agent against references it did not train
against: a random player for every board game, plus the exact solver for
tic-tac-toe; one-player games report the greedy return. The launchers print
it when training ends, with the next command to try.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from agents import baselines
from zerogo import arena


def score_interval(wins: int, draws: int, games: int, z: float = 1.96) -> tuple[float, float]:
  """Wilson 95% interval of the score (win 1, draw 1/2) over `games`: sensible
  at 0 and 1 too, where the normal approximation collapses to a point."""
  if games <= 0:
    raise ValueError("games must be positive")
  p = (wins + 0.5 * draws) / games
  centre = (p + z * z / (2 * games)) / (1 + z * z / games)
  half = z * math.sqrt(p * (1 - p) / games + z * z / (4 * games * games)) / (1 + z * z / games)
  return max(0.0, centre - half), min(1.0, centre + half)


def match_line(name: str, summary: dict) -> str:
  games, wins, draws, losses = (summary[k] for k in ("games", "wins", "draws", "losses"))
  low, high = score_interval(wins, draws, games)
  return (f"against {name}: {wins} wins, {draws} draws, {losses} losses in {games} games "
          f"(score {(wins + 0.5 * draws) / games:.3f}, 95% interval {low:.3f}-{high:.3f})")


def summarise(agent, *, games: int = 64, seed: int = 0) -> list[str]:
  """Lines describing how well `agent` plays (see the module docstring)."""
  key = jax.random.PRNGKey(seed)
  env = agent.env
  if env.num_players == 1:
    returns = np.asarray(jax.device_get(arena.episodes(agent, key, games)[0]))
    half = 1.96 * returns.std(ddof=1) / math.sqrt(len(returns)) if len(returns) > 1 else 0.0
    return [f"greedy return over {len(returns)} episodes: {returns.mean():.2f} "
            f"+- {half:.2f} (95% interval of the mean)"]
  lines = [match_line("random", arena.play_match(
      agent, baselines.random_agent(env), key, games).summary())]
  if env.id == "tic_tac_toe":
    from agents import tic_tac_toe_solver as solver
    states = solver.reachable_states(env)
    moves = solver.agent_moves(agent, states)
    rate = solver.optimal_move_rate(agent, states, moves=moves)
    results = solver.games_against_minimax(agent, env, moves=moves)
    lines.append(f"minimax-optimal moves in {rate:.2%} of the "
                 f"{states.current_player.shape[0]:,} reachable positions")
    lines.append(f"against exact minimax (every optimal reply, both colours): "
                 f"{results.count(0.0)} draws, {results.count(-1.0)} losses, "
                 f"{results.count(1.0)} wins in {len(results)} games")
  return lines
