"""Elo ratings: hand-computed references, recovery of known ratings, and the
standings tables."""

import itertools
import math

import numpy as np
import pytest

from zerogo import ratings

# With no prior to speak of, the fit is plain Bradley-Terry maximum likelihood.
NO_PRIOR = 1e9


def _games(a, b, wins, draws, losses):
  """`a` against `b`: wins, draws and losses as (a, b, score of a) triples."""
  return [(a, b, 1.0)] * wins + [(a, b, 0.5)] * draws + [(a, b, 0.0)] * losses


def test_two_players_gap_is_the_log_odds_of_the_win_ratio():
  # p = 3/4: the Elo gap is 400 log10(p / (1 - p)) = 400 log10(3) = 190.85.
  gap = 400 * math.log10(3)
  for games in (_games("a", "b", 3, 0, 1), _games("a", "b", 2, 2, 0)):  # draws count half
    elo = ratings.fit_elo(["a", "b"], games, anchor="b", prior_sd=NO_PRIOR)
    assert elo["b"] == 0.0
    assert elo["a"] == pytest.approx(gap, abs=1e-6)
  even = ratings.fit_elo(["a", "b"], _games("a", "b", 1, 2, 1), anchor="a", prior_sd=NO_PRIOR)
  assert even["b"] == pytest.approx(0.0, abs=1e-9)
  # The default prior pulls a small sample towards the anchor, not past it.
  shrunk = ratings.fit_elo(["a", "b"], _games("a", "b", 3, 0, 1), anchor="b")
  assert 0.9 * gap < shrunk["a"] < gap


def test_consistent_win_ratios_give_exactly_their_gaps():
  # a-b 3:1 and b-c 3:1 are 190.85 Elo each; a-c 9:1 is 400 log10(9) = 381.70,
  # their sum, so every pairing is fitted exactly.
  games = (_games("a", "b", 3, 0, 1) + _games("b", "c", 3, 0, 1)
           + _games("a", "c", 9, 0, 1))
  elo = ratings.fit_elo(["a", "b", "c"], games, anchor="c", anchor_rating=1000,
                        prior_sd=NO_PRIOR)
  step = 400 * math.log10(3)
  assert elo == pytest.approx({"a": 1000 + 2 * step, "b": 1000 + step, "c": 1000})


def test_elo_is_finite_for_perfect_records_and_anchor_rating_shifts_all():
  games = [("a", "b", 1.0)] * 10 + [("b", "c", 1.0)] * 10
  elo = ratings.fit_elo(["a", "b", "c"], games, anchor="c", anchor_rating=1000)
  assert elo["c"] == 1000
  assert np.isfinite(list(elo.values())).all()
  assert elo["a"] > elo["b"] > elo["c"]
  with pytest.raises(ValueError, match="anchor"):
    ratings.fit_elo(["a", "b"], games[:1], anchor="zzz")


def test_elo_table_counts_games_and_points():
  games = _games("a", "b", 3, 0, 1) + _games("b", "c", 1, 2, 1)
  table = ratings.elo_table(["a", "b", "c"], games, "b", num_bootstrap=20)
  assert {p: (row["games"], row["score"]) for p, row in table.items()} == {
      "a": (4, 0.75), "b": (8, (1 + 2) / 8), "c": (4, 0.5)}  # b: 1 win of 4, then 1-2-1
  assert table["b"]["elo"] == 0.0 and table["b"]["ci95"] == (0.0, 0.0)
  assert table["a"]["elo"] == ratings.fit_elo(["a", "b", "c"], games, "b")["a"]
  # Ranked a, then b and c (tied at 0 up to the fit): the last has no gap.
  assert "gap_ci95" in table["a"] and sum("gap_ci95" not in row for row in table.values()) == 1


def _synthetic_games(true, games_per_pair, seed=0):
  """Games drawn from a Bradley-Terry model with draws (expected score = p)."""
  rng = np.random.default_rng(seed)
  games = []
  for a, b in itertools.combinations(list(true), 2):
    p = 1 / (1 + 10 ** ((true[b] - true[a]) / 400))
    draw = 0.4 * p * (1 - p)
    for g in range(games_per_pair):
      u = rng.random()
      score = 1.0 if u < p - draw / 2 else (0.5 if u < p + draw / 2 else 0.0)
      games.append((a, b, score) if g % 2 == 0 else (b, a, 1 - score))
  return games


def test_elo_recovers_known_ratings_within_its_intervals():
  true = {"anchor": 0.0, "weak": -300.0, "good": 200.0, "strong": 450.0}
  games = _synthetic_games(true, games_per_pair=400, seed=1)
  table = ratings.elo_table(list(true), games, "anchor", num_bootstrap=200)
  assert table["anchor"]["elo"] == 0.0 and table["anchor"]["ci95"] == (0.0, 0.0)
  for name, rating in true.items():
    lo, hi = table[name]["ci95"]
    assert abs(table[name]["elo"] - rating) < 50, (name, table[name])
    assert lo <= rating <= hi, (name, table[name])
  # Ordering is right and the intervals separate neighbours.
  order = sorted(true, key=lambda n: table[n]["elo"])
  assert order == ["weak", "anchor", "good", "strong"]
  for low, high in zip(order, order[1:]):
    assert table[low]["ci95"][1] < table[high]["ci95"][0]
    gap_lo, gap_hi = table[high]["gap_ci95"]
    assert 0 < gap_lo < true[high] - true[low] < gap_hi
  assert "gap_ci95" not in table["weak"]  # the last-ranked has no one below


def test_results_matrix():
  games = [("a", "b", 1.0), ("b", "a", 0.5), ("a", "c", 0.0)]
  m = ratings.results_matrix(["a", "b", "c"], games)
  assert m[("a", "b")] == [1, 1, 0] and m[("b", "a")] == [0, 1, 1]
  assert m[("c", "a")] == [1, 0, 0] and m[("b", "c")] == [0, 0, 0]


def test_standings_lines_rank_best_first():
  table = {"x": {"elo": 0.0, "ci95": (0.0, 0.0), "games": 2, "score": 0.25},
           "y": {"elo": 190.6, "ci95": (50.2, 320.4), "games": 2, "score": 0.75,
                 "gap_ci95": (-20.4, 400.0)}}
  matrix = {("x", "y"): [0, 1, 1], ("y", "x"): [1, 1, 0]}
  lines = ratings.standings_lines(["x", "y"], table, matrix, anchor="x", anchor_rating=0.0,
                                  num_bootstrap=10)
  assert lines[:4] == [
      "| rank | player | Elo | 95% CI | Elo above next (95% CI) | games | score |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      "| 1 | `y` | 191 | 50 .. 320 | +191 (-20 .. +400) | 2 | 75.0% |",
      "| 2 | `x` | 0 | 0 .. 0 |  | 2 | 25.0% |"]
  assert "anchored at `x` = 0; 95% CI: percentiles of 10 bootstrap resamples" in lines[5]
  assert lines[-4:] == ["| | `y` | `x` |", "| --- | --- | --- |",
                        "| `y` |  | 1-1-0 |", "| `x` | 0-1-1 |  |"]
