"""The AlphaZero network's outputs and its value head's health."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from zerogo import networks


@pytest.mark.parametrize("env_id,torso", [
    *((env_id, "conv") for env_id in ("tic_tac_toe", "connect_four", "go_9x9", "backgammon")),
    ("connect_four", "mlp"), ("tic_tac_toe", "patch_mlp"), ("connect_four", "patch_mlp")])
def test_shapes_ranges_and_bf16(env_id, torso):
  env = envs.make(env_id)
  obs = jax.vmap(env.init)(jax.random.split(jax.random.PRNGKey(0), 3)).observation
  for bf16 in (False, True):
    net = networks.make_network(env.num_actions, num_channels=8, num_blocks=1, bf16=bf16,
                                torso=torso)
    params = networks.init_params(net, env.observation_shape, jax.random.PRNGKey(1))
    assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(params))
    logits, value = net.apply(params, obs)
    assert logits.shape == (3, env.num_actions) and value.shape == (3,)
    assert logits.dtype == jnp.float32 and value.dtype == jnp.float32
    assert bool((jnp.abs(value) <= 1.0).all())


def test_patch_mlp_sees_four_by_four_windows():
  for env_id, side, windows in (("connect_four", 4, 3 * 4), ("tic_tac_toe", 3, 1)):
    env = envs.make(env_id)
    net = networks.make_network(env.num_actions, num_channels=32, num_blocks=2,
                                torso="patch_mlp")
    params = networks.init_params(net, env.observation_shape, jax.random.PRNGKey(0))["params"]
    channels = env.observation_shape[-1]
    assert params["Conv_0"]["kernel"].shape == (side, side, channels, 8)
    # The dense layer after it reads every window's 8 features.
    assert params["Dense_0"]["kernel"].shape == (windows * 8, 32)


def test_value_head_is_alive_at_init_across_seeds():
  """Regression: an unnormalised 1-channel value conv went all-negative and
  the ReLU after it made the value a constant. The value must vary with
  the position for every seed."""
  env = envs.make("connect_four")
  states = jax.vmap(env.init)(jax.random.split(jax.random.PRNGKey(0), 64))
  keys = jax.random.split(jax.random.PRNGKey(1), 64)
  for i in range(6):   # a few random moves: distinct positions
    logits = jnp.where(states.legal_action_mask, 0.0, -jnp.inf)
    actions = jax.vmap(jax.random.categorical)(jax.random.split(keys[i], 64), logits)
    states = jax.vmap(env.step)(states, actions, keys)
  net = networks.make_network(env.num_actions, num_channels=32, num_blocks=3)
  for seed in range(4):
    params = networks.init_params(net, env.observation_shape, jax.random.PRNGKey(seed))
    # Drive the value conv all-negative, as training did: the head must
    # still see the position (Conv_0 is the stem, Conv_1 policy, Conv_2 value).
    head = params["params"]["Conv_2"]
    params["params"]["Conv_2"] = dict(head, bias=head["bias"] - 100.0)
    _, value = net.apply(params, states.observation)
    assert float(np.std(np.asarray(value))) > 1e-4, seed


@pytest.mark.parametrize("env_id,torso,shape,shared",
                         [("minatar-breakout", "mlp", (10, 10, 4), False),
                          ("minatar-breakout", "mlp", (10, 10, 4), True),
                          ("minatar-breakout", "cnn", (10, 10, 4), False),
                          ("CartPole-v1", "mlp", (4,), False)])
def test_mirror_equivariant_actor_critic(env_id, torso, shape, shared):
  """pi(mirror(s)) = swap(pi(s)) and V(mirror(s)) = V(s) for any params; the
  same params without the mirror are not equivariant (the test can fail)."""
  from envs import symmetry
  plain = networks.ActorCritic(num_actions=len(symmetry.MIRRORS[env_id][1]), torso=torso,
                               hidden=32, shared_torso=shared)
  mirrored = plain.clone(mirror_env=env_id)
  obs = jax.random.bernoulli(jax.random.PRNGKey(1), 0.3, (6, *shape)).astype(jnp.float32)
  params = plain.init(jax.random.PRNGKey(0), obs)
  # Random, not tiny, output weights: init's 0.01-gain logits would hide errors.
  params = jax.tree.map(lambda x: jax.random.normal(jax.random.PRNGKey(2), x.shape), params)
  assert jax.tree.structure(mirrored.init(jax.random.PRNGKey(0), obs)) == \
      jax.tree.structure(params), "the mirror must not change the parameters"
  flipped = symmetry.mirror_observations(env_id, obs)
  for net, equivariant in ((mirrored, True), (plain, False)):
    logits, value = net.apply(params, obs)
    m_logits, m_value = net.apply(params, flipped)
    swapped = symmetry.mirror_actions(env_id, logits)
    close = (np.allclose(m_logits, swapped, atol=1e-4 * np.abs(logits).max())
             and np.allclose(m_value, value, atol=1e-4 * np.abs(value).max()))
    assert close == equivariant


def test_shared_torso_feeds_both_heads_from_one_stack():
  """--shared_torso: one hidden stack (half the dense layers) whose features
  both heads read, so a change to the first layer moves the value *and* the
  policy; with separate stacks it moves only one of them."""
  obs = jax.random.normal(jax.random.PRNGKey(0), (8, 4))
  for shared, layers in ((True, 2 + 2), (False, 2 * 2 + 2)):
    net = networks.ActorCritic(num_actions=2, hidden=16, num_layers=2, shared_torso=shared)
    params = net.init(jax.random.PRNGKey(1), obs)
    assert len(params["params"]) == layers, (shared, list(params["params"]))
    logits, value = net.apply(params, obs)
    assert logits.shape == (8, 2) and value.shape == (8,)
    bumped = jax.tree.map(lambda x: x, params)
    first = bumped["params"]["Dense_0"]
    bumped["params"]["Dense_0"] = dict(first, kernel=first["kernel"] + 0.5)
    new_logits, new_value = net.apply(bumped, obs)
    moved = (not np.allclose(new_logits, logits), not np.allclose(new_value, value))
    assert moved == ((True, True) if shared else (True, False)), (shared, moved)


def test_column_torso_sees_the_board_relative_to_each_column():
  """torso="column": column j's features depend on the board relative to j,
  so moving every object k columns moves the features k columns (while
  nothing leaves the board); the MLP's flattened input would not do that."""
  import flax.linen as nn

  class Columns(nn.Module):
    @nn.compact
    def __call__(self, x):
      return networks._column_features(x, 8, 0, nn.relu, 1.0, jnp.float32)

  board = np.zeros((1, 10, 10, 4), np.float32)
  board[0, 9, 3, 0] = board[0, 5, 5, 1] = board[0, 4, 4, 2] = board[0, 1, 2:6, 3] = 1
  shifted = np.roll(board, 3, axis=2)                   # columns 2..5 -> 5..8
  net = Columns()
  params = net.init(jax.random.PRNGKey(0), board)
  params = jax.tree.map(lambda x: jax.random.normal(jax.random.PRNGKey(1), x.shape), params)
  per_column = lambda b: np.asarray(net.apply(params, b))[0, :80].reshape(10, 8)
  a, b = per_column(board), per_column(shifted)
  np.testing.assert_allclose(b[3:], a[:7], rtol=1e-5, atol=1e-5)
  assert not np.allclose(b, a), "features must depend on where the objects are"
  full = networks.ActorCritic(num_actions=3, torso="column", hidden=16)
  logits, value = full.apply(full.init(jax.random.PRNGKey(2), board), board)
  assert logits.shape == (1, 3) and value.shape == (1,)


def test_column_attention_heads_pool_the_columns_by_their_scores():
  """column_heads: each head appends the softmax(score)-weighted mean of the
  columns' features after the plain features (which stay as they were); a
  sharp head hands over the features of its best-scoring column, so what
  follows sees the board relative to the object the head looks for."""
  import flax.linen as nn

  class Columns(nn.Module):
    heads: int

    @nn.compact
    def __call__(self, x):
      return networks._column_features(x, 8, self.heads, nn.relu, 1.0, jnp.float32)

  board = np.zeros((2, 10, 10, 4), np.float32)
  board[:, 9, 3, 0] = board[:, 1, 2:6, 3] = 1
  board[0, 5, 7, 1] = board[1, 2, 1, 1] = 1
  net = Columns(heads=3)
  params = net.init(jax.random.PRNGKey(0), board)
  params = jax.tree.map(lambda x: jax.random.normal(jax.random.PRNGKey(1), x.shape), params)
  plain = Columns(heads=0).apply({"params": {"ColumnConv_0": params["params"]["ColumnConv_0"]}},
                                 board)
  out = np.asarray(net.apply(params, board))
  assert out.shape == (2, (10 + 1 + 3) * 8)
  np.testing.assert_array_equal(out[:, :88], np.asarray(plain))
  columns = np.asarray(plain)[:, :80].reshape(2, 10, 8)
  dense = params["params"]["Dense_0"]
  for sharpness, tol in ((1.0, None), (1e4, 1e-4)):
    sharp = jax.tree.map(lambda x: x * sharpness, dense)
    pooled = np.asarray(net.apply({"params": {**params["params"], "Dense_0": sharp}},
                                  board))[:, 88:].reshape(2, 3, 8)
    scores = columns @ np.asarray(sharp["kernel"]) + np.asarray(sharp["bias"])  # [B, W, heads]
    weights = np.exp(scores - scores.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    np.testing.assert_allclose(pooled, np.einsum("bwh,bwf->bhf", weights, columns),
                               rtol=1e-4, atol=1e-4)
    if tol:  # a sharp head: exactly its argmax column's features
      best = scores.argmax(1)                                            # [B, heads]
      np.testing.assert_allclose(pooled, columns[np.arange(2)[:, None], best], atol=tol)
  assert not np.allclose(pooled[0], pooled[1]), "the pools must depend on the board"
