"""Matches, schedules and the exact minimax baseline."""

import jax
import numpy as np
import pytest

import envs
from agents import tic_tac_toe_solver as ttt_solver
from agents import baselines
from zerogo import arena


def test_schedules():
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
  # Freeway never ends by itself: every episode is cut off at the time limit.
  freeway = baselines.random_agent(minatar.make("minatar-freeway"))
  _, lengths, truncated = arena.episodes(freeway, jax.random.PRNGKey(0), 2)
  assert np.asarray(truncated).all()
  assert (np.asarray(lengths) == freeway.env.max_game_length).all()
