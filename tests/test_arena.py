"""Matches, schedules, Elo and the exact minimax baseline."""

import jax
import numpy as np
import pytest

import envs
from agents import tic_tac_toe_solver as ttt_solver
from agents import baselines
from zerogo import arena


def _synthetic_games(true, games_per_pair, seed=0):
  """Games drawn from a Bradley-Terry model with draws (expected score = p)."""
  rng = np.random.default_rng(seed)
  games = []
  for a, b in arena.round_robin(list(true)):
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
  table = arena.elo_table(list(true), games, "anchor", num_bootstrap=200)
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


def test_elo_is_finite_for_perfect_records_and_anchor_rating_shifts_all():
  games = [("a", "b", 1.0)] * 10 + [("b", "c", 1.0)] * 10
  ratings = arena.fit_elo(["a", "b", "c"], games, anchor="c", anchor_rating=1000)
  assert ratings["c"] == 1000
  assert np.isfinite(list(ratings.values())).all()
  assert ratings["a"] > ratings["b"] > ratings["c"]
  with pytest.raises(ValueError, match="anchor"):
    arena.fit_elo(["a", "b"], games[:1], anchor="zzz")


def test_results_matrix_and_schedules():
  games = [("a", "b", 1.0), ("b", "a", 0.5), ("a", "c", 0.0)]
  m = arena.results_matrix(["a", "b", "c"], games)
  assert m[("a", "b")] == [1, 1, 0] and m[("b", "a")] == [0, 1, 1]
  assert m[("c", "a")] == [1, 0, 0] and m[("b", "c")] == [0, 0, 0]
  assert arena.round_robin(["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "c")]
  assert arena.gauntlet(["a", "b", "c"]) == [("a", "b"), ("a", "c")]


def test_match_records_moves_that_replay_to_the_same_result():
  env = envs.make("connect_four")
  a, b = baselines.random_agent(env), baselines.uct_agent(env, 8)
  result = jax.device_get(arena.play_match(a, b, jax.random.PRNGKey(1), 16))
  assert result.a_first.tolist() == [i % 2 == 0 for i in range(16)]
  finals = jax.device_get(arena.replay_final(env, result.actions))
  assert finals.terminated.all()
  for i in range(16):
    n = int(result.moves[i])
    assert (result.actions[i, :n] >= 0).all() and (result.actions[i, n:] == -1).all()
  # Replaying the recorded moves reproduces which games were decided.
  winners = np.abs(finals.rewards).sum(-1) > 0
  assert ((result.score != 0.5) == winners).all()


def test_minimax_is_exact_and_never_loses():
  env = envs.make("tic_tac_toe")
  minimax = baselines.minimax_agent(env)
  states = ttt_solver.reachable_states(env)
  assert ttt_solver.optimal_move_rate(minimax, states) == 1.0
  vs_random = arena.play_match(minimax, baselines.random_agent(env),
                               jax.random.PRNGKey(0), 128).summary()
  assert vs_random["losses"] == 0 and vs_random["wins"] > 100
  self_play = arena.play_match(minimax, minimax, jax.random.PRNGKey(1), 32).summary()
  assert self_play["draws"] == 32
  with pytest.raises(ValueError, match="only for tic_tac_toe"):
    baselines.minimax_agent(envs.make("connect_four"))


def test_host_game_against_agents_and_illegal_moves_lose():
  env = envs.make("tic_tac_toe")
  minimax = arena.AgentPlayer(baselines.minimax_agent(env))

  class Cheater(arena.Player):
    name = "cheater"

    def genmove(self, state, key):
      return 4  # the centre, again and again

  record = arena.play_game(env, Cheater(), minimax, jax.random.PRNGKey(0))
  assert record.reason == "illegal" and record.score == 0.0
  assert record.extra["illegal_move"] == 4 and record.actions[0] == 4
  assert len(record.actions) == 2
  draw = arena.play_game(env, minimax, arena.AgentPlayer(baselines.minimax_agent(env)),
                         jax.random.PRNGKey(2))
  assert draw.reason == "end" and draw.score == 0.5 and len(draw.actions) == 9


def test_random_openings_are_shared_by_colour_swapped_pairs():
  import envs
  from zerogo import networks
  from agents.players import policy_agent
  env = envs.make("tic_tac_toe")
  net = networks.make_network(env.num_actions, num_channels=8, num_blocks=1)
  params = networks.init_params(net, env.observation_shape, jax.random.PRNGKey(0))
  det = policy_agent(env, net, params, name="det")  # deterministic: argmax
  plain = arena.play_match(det, det, jax.random.PRNGKey(1), 8)
  # Without openings two deterministic players replay one game per colour.
  assert len({tuple(a) for a in np.asarray(plain.actions)[::2]}) == 1
  opened = arena.play_match(det, det, jax.random.PRNGKey(1), 8, opening_moves=2)
  actions = np.asarray(opened.actions)
  np.testing.assert_array_equal(actions[0::2, :2], actions[1::2, :2])
  assert len({tuple(a[:2]) for a in actions[::2]}) > 1



def test_episodes_report_lengths_and_time_limit_cut_offs():
  from envs import minatar
  # CartPole pays 1 per step: a random player falls early, so every return
  # equals its length and no episode reaches the 500-step limit.
  cartpole = baselines.random_agent(minatar.make("CartPole-v1"))
  returns, lengths, truncated = arena.episodes(cartpole, jax.random.PRNGKey(0), 16)
  np.testing.assert_array_equal(np.asarray(returns), np.asarray(lengths))
  assert not np.asarray(truncated).any() and (np.asarray(lengths) < 100).all()
  np.testing.assert_array_equal(arena.episode_returns(cartpole, jax.random.PRNGKey(0), 16),
                                returns)
  # Freeway never ends by itself: every episode is cut off at the time limit.
  freeway = baselines.random_agent(minatar.make("minatar-freeway"))
  _, lengths, truncated = arena.episodes(freeway, jax.random.PRNGKey(0), 2)
  assert np.asarray(truncated).all()
  assert (np.asarray(lengths) == freeway.env.max_game_length).all()
