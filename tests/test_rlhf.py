"""RLHF: rankings -> pairs and likelihoods, the reward model, raters, the
labelling tool, exact resume with labels, and learning CartPole from
preferences alone."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agents import preferences as prefs
from agents import raters, rlhf
from agents.configs import RLHFConfig
from conftest import assert_trees_close, one_device_mesh, run_launcher
from zerogo import learner, loop, sharding
from zerogo import metrics as metrics_lib


def tiny(**overrides) -> RLHFConfig:
  base = dict(env_id="CartPole-v1", seed=1, total_steps=4 * 32 * 6, num_envs=4, num_steps=32,
              num_epochs=2, num_minibatches=2, hidden=16, torso="mlp", clip_length=8,
              total_labels=24, label_fraction=0.5, reward_hidden=16, reward_steps=4,
              reward_batch_size=8, heldout_every=4)
  return RLHFConfig(**{**base, **overrides})


# --- rankings -> likelihoods ------------------------------------------------

@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_a_ranking_of_k_clips_gives_k_choose_2_ordered_pairs(k):
  better, worse = prefs.ranking_pairs(k)
  assert len(better) == k * (k - 1) // 2
  assert (better < worse).all() and len(set(zip(better, worse))) == len(better)


def test_pairs_and_plackett_luce_losses_match_hand_computed_values():
  returns = jnp.array([0.5, 2.0, -1.0])
  ranking = jnp.array([1, 0, 2])  # clip 2 (index 1) best, then index 0, then index 2
  sig = lambda x: 1 / (1 + np.exp(-x))
  pairs = -np.mean(np.log([sig(2.0 - 0.5), sig(2.0 + 1.0), sig(0.5 + 1.0)]))
  assert float(prefs.pairs_loss(returns, ranking)) == pytest.approx(pairs, rel=1e-5)
  e = np.exp([2.0, 0.5, -1.0])
  pl = -(np.log(e[0] / e.sum()) + np.log(e[1] / e[1:].sum()))
  assert float(prefs.plackett_luce_loss(returns, ranking)) == pytest.approx(pl, rel=1e-5)
  # Two clips: both are Bradley-Terry.
  two = jnp.array([0.3, -0.2]), jnp.array([0, 1])
  assert float(prefs.pairs_loss(*two)) == pytest.approx(
      float(prefs.plackett_luce_loss(*two)), rel=1e-6)
  assert float(prefs.pair_accuracy(returns, ranking)) == 1.0
  assert float(prefs.pair_accuracy(returns, jnp.array([2, 0, 1]))) == 0.0
  # Tied hidden scores are left out of the accuracy.
  assert float(prefs.pair_accuracy(returns, jnp.array([1, 2, 0]),
                                   jnp.array([0.0, 1.0, 1.0]))) == 0.5


def test_clips_stop_where_their_episode_ends_and_time_limit_cuts_are_flagged():
  T, E = 6, 2
  done = np.zeros((T, E), bool)
  done[2, 0] = True                                     # env 0 ends at step 2
  truncated = np.zeros((T, E), bool)
  truncated[4, 1] = True
  done[4, 1] = True                                     # env 1 is cut off at step 4
  traj = dict(observation=jnp.arange(T * E, dtype=jnp.float32).reshape(T, E, 1),
              action=jnp.zeros((T, E), jnp.int32), done=jnp.asarray(done),
              truncated=jnp.asarray(truncated), step_score=jnp.ones((T, E)))
  clips, cut = prefs.cut_clips(traj, jnp.array([0, 1, 1]), jnp.array([1, 0, 0]), 4)
  np.testing.assert_array_equal(clips.valid, [[1, 1, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]])
  np.testing.assert_array_equal(clips.score, [2, 4, 4])
  np.testing.assert_array_equal(clips.observation[0, :, 0], [2, 4, 6, 8])
  np.testing.assert_array_equal(cut, [False, False, False])
  _, cut = prefs.cut_clips(traj, jnp.array([1]), jnp.array([2]), 4)
  assert bool(cut[0])


def test_label_schedule_spends_the_budget_front_loaded():
  schedule = prefs.label_schedule(1000, 50)
  assert schedule.sum() == 1000 and len(schedule) == 50
  assert schedule[0] >= 39 and schedule[-1] <= 2         # about 2x the mean, falling to 0
  assert (np.diff(schedule) <= 1).all()                  # never rising (rounding aside)
  config = RLHFConfig(total_steps=512 * 100, total_labels=300, label_fraction=0.5)
  assert rlhf.label_schedule(config).sum() == 300 and len(rlhf.label_schedule(config)) == 50


def test_training_and_heldout_slots_partition_the_buffer():
  slots = [int(prefs.training_slot(jnp.int32(j), 4)) for j in range(9)]
  held = list(prefs.heldout_slots(12, 4))
  assert held == [3, 7, 11] and slots == [0, 1, 2, 4, 5, 6, 8, 9, 10]
  assert int(prefs.num_training(jnp.int32(8), 4)) == 6


# --- the reward model -------------------------------------------------------

@pytest.mark.slow(seconds=10)
def test_reward_model_recovers_a_linear_reward_from_rankings():
  """Rankings of 3 clips by a hidden linear reward of (observation,
  action): the learned per-step reward ranks fresh steps like the true one."""
  num_labels, k, length, dim, actions = 400, 3, 5, 4, 2
  w, action_bonus = np.array([1.0, -2.0, 0.5, 1.5]), np.array([0.0, 1.0])
  rng = np.random.default_rng(0)
  obs = rng.normal(size=(num_labels, k, length, dim)).astype(np.float32)
  act = rng.integers(0, actions, size=(num_labels, k, length)).astype(np.int32)
  true = obs @ w + action_bonus[act]
  ranking = np.argsort(-true.sum(-1), axis=-1).astype(np.int32)
  clips = prefs.Clips(observation=jnp.asarray(obs), action=jnp.asarray(act),
                      valid=jnp.ones((num_labels, k, length), bool),
                      score=jnp.asarray(true.sum(-1)))
  model = prefs.RewardModel(num_actions=actions, hidden=32, num_layers=2)
  import optax
  optimizer = optax.adam(3e-3)
  params = prefs.init_ensemble(model, (dim,), 2, jax.random.PRNGKey(0))
  train = jax.vmap(lambda p: learner.init_train_state(p, optimizer))(params)
  fit = prefs.make_fit_fn(model, optimizer, loss="pairs", batch_size=64, num_steps=600,
                          heldout_every=10)
  mesh = one_device_mesh()
  run = jax.jit(sharding.data_parallel(
      lambda t, c, r, n, key: fit(t, c, r, n, key), mesh,
      in_specs=(sharding.REPLICATED,) * 5, out_specs=sharding.REPLICATED))
  train, metrics = run(train, clips, jnp.asarray(ranking), jnp.int32(num_labels),
                       jax.random.PRNGKey(1))
  test_obs = rng.normal(size=(2000, dim)).astype(np.float32)
  test_act = rng.integers(0, actions, size=2000).astype(np.int32)
  predicted = np.asarray(jax.vmap(lambda p: prefs.step_rewards(
      model, p, jnp.asarray(test_obs), jnp.asarray(test_act)))(train.params).mean(0))
  target = test_obs @ w + action_bonus[test_act]
  rank = lambda x: np.argsort(np.argsort(x))
  spearman = np.corrcoef(rank(predicted), rank(target))[0, 1]
  assert spearman > 0.9, spearman
  accuracy = prefs.heldout_accuracy(model, train.params, clips, jnp.asarray(ranking),
                                    jnp.int32(num_labels), 10)
  assert float(accuracy) > 0.85 and float(metrics["reward_train_accuracy"]) > 0.85


def test_disagreement_is_zero_when_members_agree():
  same = jnp.broadcast_to(jnp.array([[1.0, 0.0], [0.0, 2.0]]), (3, 2, 2))
  assert np.allclose(prefs.disagreement(same), 0.0)
  spread = same.at[0, 0, 0].set(-3.0)
  values = np.asarray(prefs.disagreement(spread))
  assert values[0] > 0.1 and values[1] == pytest.approx(0.0, abs=1e-6)


# --- raters -----------------------------------------------------------------

def _queries(score):
  score = np.asarray(score, np.float32)
  q, k = score.shape
  return prefs.Clips(observation=np.zeros((q, k, 3, 4), np.float32),
                     action=np.zeros((q, k, 3), np.int32), valid=np.ones((q, k, 3), bool),
                     score=score)


def test_synthetic_rater_exact_boltzmann_and_mistakes():
  score = np.array([[1.0, 3.0, 2.0], [5.0, 4.0, 6.0]])
  exact = raters.SyntheticRater().rank(_queries(score), 0)
  np.testing.assert_array_equal(exact, [[1, 2, 0], [2, 0, 1]])
  pairs = _queries(np.tile([[1.0, 0.0]], (2000, 1)))
  flipped = raters.SyntheticRater(mistake_rate=0.1).rank(pairs, 3)
  assert 0.07 < (flipped[:, 0] == 1).mean() < 0.13
  again = raters.SyntheticRater(mistake_rate=0.1).rank(pairs, 3)
  np.testing.assert_array_equal(flipped, again)          # resumes ask again: same answers
  # Boltzmann: P(better first) = sigmoid(1 / T).
  hot = raters.SyntheticRater(temperature=1.0).rank(pairs, 0)
  assert abs((hot[:, 0] == 0).mean() - 1 / (1 + np.exp(-1.0))) < 0.04
  ties = raters.SyntheticRater().rank(_queries(np.zeros((2000, 2))), 0)
  assert 0.45 < (ties[:, 0] == 0).mean() < 0.55           # ties: a coin toss


def _ppo_checkpoint(workdir) -> str:
  """An untrained CartPole PPO checkpoint (no training step compiled)."""
  from agents import ppo
  from zerogo import checkpoint
  trainer = ppo.PPO(ppo.PPOConfig(env_id="CartPole-v1", num_envs=4, hidden=16, torso="mlp"),
                    one_device_mesh())
  ckpt = checkpoint.Checkpointer(checkpoint.checkpoint_dir(str(workdir)))
  loop.save(ckpt, trainer, trainer.init(), 0)
  ckpt.close()
  return str(workdir)


@pytest.mark.slow(seconds=20)
def test_ai_rater_ranks_by_a_checkpoints_value_and_init_from_anchors_the_kl(tmp_path):
  from agents import ppo
  path = _ppo_checkpoint(tmp_path / "ppo")
  rater = raters.AIRater.from_checkpoint(path, "CartPole-v1")
  obs = np.random.default_rng(0).normal(size=(5, 3, 4, 4)).astype(np.float32)
  valid = np.ones((5, 3, 4), bool)
  valid[0, 0, 2:] = False
  queries = prefs.Clips(observation=obs, action=np.zeros((5, 3, 4), np.int32), valid=valid,
                        score=np.zeros((5, 3), np.float32))
  ranking = rater.rank(queries, 0)
  values = np.asarray(rater.value_fn(obs.reshape(-1, 4))).reshape(5, 3, 4)
  expected = np.argsort(-np.where(valid, values, 0).sum(-1), axis=-1)
  np.testing.assert_array_equal(ranking, expected)
  with pytest.raises(ValueError, match="--rater_checkpoint=.*--env=CartPole-v1"):
    raters.AIRater.from_checkpoint(path, "minatar-breakout")
  # RLAIF in the loop, starting from (and anchored to) the same policy.
  config = tiny(rater="ai", rater_checkpoint=path, init_from=path, kl_coef=0.5,
                hidden=16, total_steps=4 * 32 * 3)
  trainer = rlhf.RLHF(config, one_device_mesh())
  state = trainer.init()
  start = jax.device_get(state.reference)
  stored = ppo.init_from_stacked(config, trainer.network, trainer.env, 1)
  assert_trees_close(start, jax.device_get(stored), rtol=0, atol=0)
  for _ in range(3):
    state, metrics = trainer.step(state)
  assert int(state.label_count) == int(trainer.schedule[:2].sum()) > 0
  assert float(metrics["kl"][0, 0]) > 0
  assert_trees_close(jax.device_get(state.reference), start, rtol=0, atol=0)


def test_centre_objective_pays_less_away_from_the_middle():
  config = tiny(rater_objective="centre")
  traj = dict(observation=jnp.array([[[0.0, 0, 0, 0]], [[1.2, 0, 0, 0]], [[-2.4, 0, 0, 0]]]),
              reward=jnp.ones((3, 1)))
  np.testing.assert_allclose(rlhf.step_score(config, traj)[:, 0], [1.0, 0.5, 0.0])


def test_parse_ranking():
  assert raters.parse_ranking("2>1>3", 3).tolist() == [1, 0, 2]
  assert raters.parse_ranking(" 2 > 1 ", 2).tolist() == [1, 0]
  assert raters.parse_ranking("2", 2).tolist() == [1, 0]
  for bad in ("", "1>1", "1>2", "3>1>2>4", "a>b", "2<1", "1>2>", "0>1>2"):
    assert raters.parse_ranking(bad, 3) is None, bad


def test_labelling_tool_reasks_on_bad_input_and_never_loses_saved_labels(tmp_path):
  path = str(tmp_path / "labels.jsonl")
  env = "CartPole-v1"
  queries = _queries(np.zeros((3, 2)))
  queries = queries.replace(observation=np.random.default_rng(0).normal(
      size=(3, 2, 3, 4)).astype(np.float32) * 0.1)
  answers = iter(["", "3", "1>1", "2>1", "1"])
  shown = []

  def read(prompt):
    shown.append(prompt)
    try:
      return next(answers)
    except StopIteration:
      raise EOFError from None

  rater = raters.HumanRater(env, path, read=read, write=shown.append)
  with pytest.raises(raters.LabellingEnded, match="run the same command"):
    rater.rank(queries, 7)
  text = "\n".join(shown)
  assert text.count("not a ranking") == 3 and "clip 1" in text and "x=" in text
  rows = [json.loads(line) for line in open(path)]
  assert rows == [{"iteration": 7, "query": 0, "ranking": [1, 0]},
                  {"iteration": 7, "query": 1, "ranking": [0, 1]}]
  # A crash mid-write leaves a torn last line: the saved answers still load.
  with open(path, "a") as f:
    f.write('{"iteration": 7, "qu')

  asked = []

  def answer(prompt):
    asked.append(prompt)
    return "2>1"

  shown.clear()
  again = raters.HumanRater(env, path, read=answer, write=shown.append)
  ranking = again.rank(queries, 7)
  np.testing.assert_array_equal(ranking, [[1, 0], [0, 1], [1, 0]])
  assert len(asked) == 1 and "query 3 of 3" in "\n".join(shown)  # only the unsaved one


def test_minatar_clips_render_as_text_grids():
  env_obs = np.zeros((1, 2, 6, 10, 10, 4), np.float32)
  env_obs[0, 0, :, 9, 4, 0] = 1                          # the paddle, channel 0
  env_obs[0, 1, :, 3, 2, 1] = 1
  queries = prefs.Clips(observation=env_obs, action=np.zeros((1, 2, 6), np.int32),
                        valid=np.ones((1, 2, 6), bool), score=np.zeros((1, 2)))
  text = raters.render_clips("minatar-breakout", queries, 0)
  assert "clip 2" in text and "....a....." in text and "..b......." in text


# --- the loop ---------------------------------------------------------------

def _run(config, workdir, **options):
  trainer = rlhf.RLHF(config, one_device_mesh())
  return trainer, loop.run(trainer, loop.RunOptions(workdir=str(workdir), progress=False,
                                                    **options))


@pytest.mark.slow(seconds=20)
def test_resume_is_exact_with_the_labels(tmp_path):
  config = tiny(rater_mistake_rate=0.2, kl_coef=0.1)
  trainer = rlhf.RLHF(config, one_device_mesh())  # one compiled program for all runs
  options = dict(log_every=1, checkpoint_every=3, eval_every=0, progress=False)
  straight = loop.run(trainer, loop.RunOptions(workdir=str(tmp_path / "a"), **options))
  loop.run(trainer, loop.RunOptions(workdir=str(tmp_path / "b"), stop_at=3, **options))
  resumed = loop.run(trainer, loop.RunOptions(workdir=str(tmp_path / "b"), **options))
  straight, resumed = jax.device_get(straight), jax.device_get(resumed)
  assert int(resumed.ppo.update) == 6 and int(resumed.label_count) > 0
  assert int(straight.label_count) == int(resumed.label_count)
  for field in ("ppo", "reward", "labels", "ranking", "pending"):
    assert_trees_close(getattr(straight, field), getattr(resumed, field), rtol=0, atol=0)
  rows = metrics_lib.read_jsonl(str(tmp_path / "b" / "metrics.jsonl"))
  assert [r["iteration"] for r in rows] == [1, 2, 3, 4, 5, 6]
  assert rows[-1]["labels_used"] == int(straight.label_count)
  for name in ("episode_return", "learned_return", "reward_loss", "kl", "mean_abs_cart_x"):
    assert name in rows[-1] or name in rows[-2], name
  import agents
  agent = agents.load_agent(str(tmp_path / "b"))
  assert agent.name == "rlhf@6" and agent.env_id == "CartPole-v1"


@pytest.mark.slow(seconds=20)
def test_minatar_labels_are_stored_as_bool_and_exactly():
  config = tiny(env_id="minatar-breakout", total_steps=4 * 32 * 3, clip_length=4,
                total_labels=8)
  trainer = rlhf.RLHF(config, one_device_mesh())
  state, _ = trainer.step(trainer.init())        # update 0 chooses the first queries
  asked = trainer.labels_before(1)
  pending = jax.device_get(state.pending.observation)[:asked]
  assert asked > 0 and pending.dtype == np.float32 and set(np.unique(pending)) <= {0.0, 1.0}
  state, _ = trainer.step(state)                 # update 1 files them as labels
  labels = jax.device_get(state.labels.observation)
  assert labels.dtype == np.bool_ and int(state.label_count) == asked
  np.testing.assert_array_equal(labels[:asked].astype(np.float32), pending)
  assert rlhf.label_observation_dtype("CartPole-v1") == jnp.float32


@pytest.mark.slow(seconds=30)
def test_four_devices_match_one_device():
  config = tiny(total_steps=4 * 32 * 3)
  results = []
  for mesh in (one_device_mesh(), jax.make_mesh((4,), ("data",))):
    trainer = rlhf.RLHF(config, mesh)
    state = trainer.init()
    for _ in range(3):
      state, _ = trainer.step(state)
    results.append(jax.device_get((state.ppo.train.params, state.reward.params,
                                   state.ranking, state.pending.observation)))
  assert_trees_close(results[0], results[1], rtol=2e-4, atol=2e-5)


def _learn(tmp_path, **overrides):
  """RLHF on CartPole at a small budget; the greedy return at the end."""
  config = RLHFConfig(**{**dict(
      env_id="CartPole-v1", seed=0, total_steps=100_000, num_envs=4, num_steps=128,
      num_epochs=4, num_minibatches=4, learning_rate=2.5e-4, torso="mlp",
      total_labels=300, label_fraction=0.5), **overrides})
  trainer, state = _run(config, tmp_path, log_every=20, checkpoint_every=1000, eval_every=0)
  evaluate = trainer.evaluator(games=32, uct_simulations=0)
  return evaluate(sharding.local_copy(trainer.params(state)), 0)["eval/episode_return"]


@pytest.mark.slow(seconds=35)
@pytest.mark.optimized
def test_learns_cartpole_from_preferences_alone(tmp_path):
  # A random policy lasts about 20 steps; PPO on the true reward is at about
  # 400 at 100k steps with this recipe (this run: 497).
  assert _learn(tmp_path) > 250


@pytest.mark.slow(seconds=20)
@pytest.mark.optimized
def test_a_rater_with_10_percent_mistakes_still_teaches_cartpole(tmp_path):
  assert _learn(tmp_path, rater_mistake_rate=0.1, seed=1) > 200     # this run: 422


@pytest.mark.parametrize("overrides,message", [
    (dict(env_id="minatar-breakout", rater_objective="centre"), "is for CartPole-v1"),
    (dict(rater="ai"), "--rater=ai needs --rater_checkpoint"),
    (dict(rater_checkpoint="/tmp"), "only for --rater=ai"),
    (dict(num_seeds=2), "one run per seed"),
    (dict(clip_length=500), "must be at most --num_steps"),
    (dict(env_id="tic_tac_toe"), "one-player envs"),
    (dict(heldout_every=1), "hold out every label"),
    (dict(reward_batch_size=6), "--reward_batch_size=6 must be divisible"),
    (dict(rater="ai", rater_checkpoint="/nonexistent"), "--rater_checkpoint=/nonexistent"),
    (dict(query_selection="best"), "--query_selection='best' is not one of"),
])
def test_bad_configs_are_one_sentence_naming_the_flag(overrides, message):
  with pytest.raises(ValueError, match=message):
    rlhf.validate(tiny(**overrides), num_devices=4)


def test_launcher_bad_flag_is_one_sentence_and_exit_2(tmp_path):
  proc = run_launcher("rlhf.py", f"--workdir={tmp_path}/w", "--rater=ai", check=False)
  assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-500:]
  assert proc.stderr.strip().splitlines()[-1] == (
      "error: --rater=ai needs --rater_checkpoint (a ppo run), and --rater_checkpoint is "
      "only for --rater=ai")


@pytest.mark.slow(seconds=30)
def test_human_rater_in_the_launcher_keeps_answers_across_a_stop(tmp_path):
  """A person answers some queries, input ends: one sentence, exit 2, the
  answers in labels.jsonl; the same command with more answers continues
  and does not ask the saved ones again."""
  args = ("--env=CartPole-v1", f"--workdir={tmp_path}", "--total_steps=1024",
          "--num_envs=4", "--num_steps=32", "--num_minibatches=2", "--hidden=16",
          "--torso=mlp", "--clip_length=8", "--total_labels=6", "--label_fraction=0.5",
          "--rater=human", "--progress=false", "--nosummary", "--eval_every=0",
          "--checkpoint_every=1")
  first = run_launcher("rlhf.py", *args, stdin="2>1\nnonsense\n1>2\n", check=False)
  assert first.returncode == 2, first.stderr[-2000:]
  assert "labelling stopped" in first.stderr and "Traceback" not in first.stderr
  assert "not a ranking" in first.stdout
  saved = [json.loads(line) for line in open(tmp_path / "labels.jsonl")]
  assert [r["ranking"] for r in saved] == [[1, 0], [0, 1]]
  second = run_launcher("rlhf.py", *args, stdin="1\n" * 10)
  rows = [json.loads(line) for line in open(tmp_path / "labels.jsonl")]
  assert rows[:2] == saved and len(rows) == 6
  assert second.stdout.count("rank the clips") == 4
  final = metrics_lib.read_jsonl(str(tmp_path / "metrics.jsonl"))[-1]
  assert final["labels_used"] == 6
