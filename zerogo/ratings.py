"""Elo ratings from game results, with confidence intervals.

- `fit_elo`: Bradley-Terry maximum likelihood over all games (draws count
  half), anchored to a named player.
- `elo_table`: the same with 95% intervals by a bootstrap over games, per
  player and for the gap to the next-ranked player.
- `results_matrix`: wins, draws and losses per pairing.
- `standings_lines`: both as markdown tables.

Games are (a, b, score of a) triples; who played them and how is
`zerogo.arena`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

# Elo points per unit of natural log-odds: the fit works in natural units.
_ELO = 400.0 / np.log(10.0)


def fit_elo(players: Sequence[str], games: Sequence[tuple[str, str, float]],
            anchor: str, anchor_rating: float = 0.0, prior_sd: float = 1000.0,
            iterations: int = 100) -> dict[str, float]:
  """Bradley-Terry maximum likelihood Elo from (a, b, score of a) games.

  Draws are half points. A weak Gaussian prior (sd `prior_sd` Elo around the
  anchor) keeps ratings finite when a player won or lost every game.
  """
  index = {p: i for i, p in enumerate(players)}
  if anchor not in index:
    raise ValueError(f"anchor {anchor!r} is not one of the players")
  n = len(players)
  # [games, players]: +1 in the column of a, -1 in that of b.
  diff = np.eye(n)[[index[g[0]] for g in games]] - np.eye(n)[[index[g[1]] for g in games]]
  s = np.array([g[2] for g in games], np.float64)
  r = np.zeros(n)  # natural units (Elo / _ELO), anchor at 0
  free = np.array([i != index[anchor] for i in range(n)])
  lam = (_ELO / prior_sd) ** 2
  for _ in range(iterations):
    p = 1.0 / (1.0 + np.exp(-(diff @ r)))
    grad = diff.T @ (s - p) - lam * r
    hess = diff.T @ (diff * (p * (1 - p))[:, None]) + lam * np.eye(n)
    step = np.zeros(n)
    step[free] = np.linalg.solve(hess[np.ix_(free, free)], grad[free])
    r += step
    if np.abs(step).max() < 1e-10:
      break
  return {p: float(anchor_rating + r[i] * _ELO) for p, i in index.items()}


def elo_table(players: Sequence[str], games: Sequence[tuple[str, str, float]],
              anchor: str, anchor_rating: float = 0.0, num_bootstrap: int = 300,
              seed: int = 0) -> dict[str, dict]:
  """Per player: elo, 95% CI (bootstrap over games, resampled within each
  pairing), games, score (points / games), and `gap_ci95`: the 95% CI of
  the Elo difference to the next-ranked player (what says whether two
  neighbours are separated; the per-player CIs also carry the anchor's own
  uncertainty)."""
  ratings = fit_elo(players, games, anchor, anchor_rating)
  by_pair: dict[tuple[str, str], list[int]] = {}
  for i, (pa, pb, _) in enumerate(games):
    by_pair.setdefault((pa, pb), []).append(i)
  rng = np.random.default_rng(seed)
  samples = []
  for _ in range(num_bootstrap):
    pick = [g for idx in by_pair.values() for g in rng.choice(idx, len(idx))]
    samples.append(fit_elo(players, [games[i] for i in pick], anchor, anchor_rating))
  ci95 = lambda values: tuple(np.percentile(values, [2.5, 97.5]).tolist())
  table = {}
  for p in players:
    mine = [g for g in games if p in g[:2]]
    points = sum(g[2] if g[0] == p else 1 - g[2] for g in mine)
    table[p] = {"elo": ratings[p], "ci95": ci95([sample[p] for sample in samples]),
                "games": len(mine), "score": points / max(len(mine), 1)}
  order = sorted(players, key=lambda p: -ratings[p])
  for p, below in zip(order, order[1:]):
    table[p]["gap_ci95"] = ci95([sample[p] - sample[below] for sample in samples])
  return table


def results_matrix(players: Sequence[str],
                   games: Sequence[tuple[str, str, float]]) -> dict[tuple[str, str], list[int]]:
  """(row, column) -> [wins, draws, losses] of row against column."""
  matrix = {(p, q): [0, 0, 0] for p in players for q in players if p != q}
  for pa, pb, score in games:
    outcome = 0 if score == 1 else (1 if score == 0.5 else 2)
    matrix[(pa, pb)][outcome] += 1
    matrix[(pb, pa)][2 - outcome] += 1
  return matrix


def standings_lines(players: Sequence[str], table: dict[str, dict],
                    matrix: dict[tuple[str, str], list[int]], *, anchor: str,
                    anchor_rating: float, num_bootstrap: int) -> list[str]:
  """Markdown: the Elo table (`elo_table`'s rows, best first), how it was
  fitted, and the pairwise results (`results_matrix`) in the same order."""
  order = sorted(players, key=lambda p: -table[p]["elo"])
  lines = ["| rank | player | Elo | 95% CI | Elo above next (95% CI) | games | score |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
  for rank, p in enumerate(order, 1):
    row = table[p]
    lo, hi = row["ci95"]
    gap = ""
    if "gap_ci95" in row:
      below = order[rank]
      glo, ghi = row["gap_ci95"]
      gap = f"{row['elo'] - table[below]['elo']:+.0f} ({glo:+.0f} .. {ghi:+.0f})"
    lines.append(f"| {rank} | `{p}` | {row['elo']:.0f} | {lo:.0f} .. {hi:.0f} | {gap} | "
                 f"{row['games']} | {100 * row['score']:.1f}% |")
  lines += ["", f"Elo: Bradley-Terry maximum likelihood over all games (draws count "
            f"half), anchored at `{anchor}` = {anchor_rating:g}; 95% CI: percentiles of "
            f"{num_bootstrap} bootstrap resamples of the games within each pairing "
            f"(\"Elo above next\": the same for the difference to the next-ranked player; "
            f"an interval above 0 separates the two).", "",
            "## Results (row against column: wins-draws-losses)", "",
            "| | " + " | ".join(f"`{p}`" for p in order) + " |",
            "| --- |" + " --- |" * len(order)]
  for p in order:
    cells = ["" if p == q else "-".join(map(str, matrix[(p, q)])) for q in order]
    lines.append(f"| `{p}` | " + " | ".join(cells) + " |")
  return lines
