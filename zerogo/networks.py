"""Flax networks: the AlphaZero residual tower with policy and value heads.

Normalisation is LayerNorm, not BatchNorm: it has no batch statistics, so a
position's evaluation does not depend on which other positions share its
batch or device. That keeps self-play, search and data-parallel training
exactly reproducible across device counts.
"""

from __future__ import annotations

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp


class ResidualBlock(nn.Module):
  """Two 3x3 convs with a skip. global_pool (KataGo): between them, the
  mean and max over the board of a quarter of the channels go through a
  dense layer into a per-channel bias, so a small-kernel tower sees
  whole-board context (e.g. how much territory each side has) in one block."""
  num_channels: int
  dtype: jnp.dtype = jnp.float32
  global_pool: bool = False

  @nn.compact
  def __call__(self, x):
    conv = lambda: nn.Conv(self.num_channels, (3, 3), padding="SAME",
                           use_bias=False, dtype=self.dtype)
    y = nn.relu(nn.LayerNorm(dtype=self.dtype)(conv()(x)))
    if self.global_pool:
      pooled = y[..., :max(self.num_channels // 4, 1)]
      summary = jnp.concatenate([pooled.mean(axis=(1, 2)), pooled.max(axis=(1, 2))], -1)
      y = y + nn.Dense(self.num_channels, dtype=self.dtype)(summary)[:, None, None, :]
    y = nn.LayerNorm(dtype=self.dtype)(conv()(y))
    return nn.relu(x + y)


# Heads normalise over the whole H x W x C map. Per-cell LayerNorm (flax's
# default, over channels only) turns a 2-channel head into one +-1 sign per
# cell: on connect-four replay data the value could not even fit its
# training set that way (MSE 1.01 vs 0.51).
HEAD_NORM_AXES = (-3, -2, -1)

PATCH = 4  # patch_mlp: side of the board patches (a connect-four line fits in one)


class AlphaZeroNet(nn.Module):
  """Maps observations [B, *obs_shape] to (policy logits [B, A], value [B]).

  Board observations (rank 3, H x W x C) go through a conv residual tower;
  vector observations through an MLP of the same width. torso="mlp"
  flattens boards into that MLP; torso="patch_mlp" puts one 4 x 4 VALID
  conv of num_channels / 4 filters in front of it. The value is tanh-
  squashed into [-1, 1] and is from the point of view of the player to move.
  Outputs are float32 whatever the compute dtype (`dtype=bfloat16` for
  mixed precision; parameters stay float32).

  global_pool: conv residual blocks with KataGo's global pooling bias.
  reply_head: a third head predicts the opponent's reply (logits over the
  actions, as the policy) from the same features; it is not an output of
  `__call__` but sown as `intermediates/reply` (apply with
  `mutable="intermediates"` to read it), so players and search never pay
  for it: unused, XLA drops it.
  ownership_head: KataGo's auxiliary targets on the conv tower, sown the
  same way: `intermediates/ownership` [B, H * W] logits of each point ending
  as the mover's (a 1x1 conv of the tower's features), and
  `intermediates/score` [B] the final score margin over the number of
  points (from the board-averaged features).
  """
  num_actions: int
  num_channels: int = 64
  num_blocks: int = 6
  torso: str = "conv"
  dtype: jnp.dtype = jnp.float32
  global_pool: bool = False
  reply_head: bool = False
  ownership_head: bool = False

  @nn.compact
  def __call__(self, observation: chex.Array):
    x = observation.astype(self.dtype)
    if x.ndim == 4 and self.torso == "conv":
      x = nn.Conv(self.num_channels, (3, 3), padding="SAME", use_bias=False,
                  dtype=self.dtype)(x)
      x = nn.relu(nn.LayerNorm(dtype=self.dtype)(x))
      for _ in range(self.num_blocks):
        x = ResidualBlock(self.num_channels, dtype=self.dtype,
                          global_pool=self.global_pool)(x)
      # Both heads normalise before their ReLU. A bare 1-channel value conv
      # (AlphaZero has BatchNorm there) can go all-negative and leave the
      # value head dead: seen on connect four, value stuck at a constant.
      # (The vector-observation torso below keeps per-feature LayerNorm.)
      head = lambda: nn.relu(nn.LayerNorm(reduction_axes=HEAD_NORM_AXES, dtype=self.dtype)(
          nn.Conv(2, (1, 1), dtype=self.dtype)(x))).reshape(x.shape[0], -1)
      policy, value = head(), head()
      reply = head() if self.reply_head else None
    else:
      if x.ndim == 4 and self.torso == "patch_mlp":
        # One VALID conv over every PATCH x PATCH window of the board (a
        # learned detector of local patterns, e.g. lines of four) feeding the
        # dense layers: a fraction of the conv tower's cost on a CPU.
        k = (min(PATCH, x.shape[1]), min(PATCH, x.shape[2]))
        x = nn.relu(nn.Conv(max(self.num_channels // 4, 1), k, padding="VALID",
                            dtype=self.dtype)(x))
      x = x.reshape(x.shape[0], -1)
      for _ in range(max(self.num_blocks, 1)):
        x = nn.relu(nn.LayerNorm(dtype=self.dtype)(
            nn.Dense(self.num_channels, dtype=self.dtype)(x)))
      policy = value = reply = x
    logits = nn.Dense(self.num_actions, dtype=self.dtype)(policy)
    value = nn.relu(nn.Dense(self.num_channels, dtype=self.dtype)(value))
    value = jnp.tanh(nn.Dense(1, dtype=self.dtype)(value))[:, 0]
    if self.reply_head:  # created last: the other layers keep their names
      self.sow("intermediates", "reply",
               nn.Dense(self.num_actions, dtype=self.dtype)(reply).astype(jnp.float32))
    if self.ownership_head:  # after every other layer, for the same reason
      if observation.ndim != 4 or self.torso != "conv":
        raise ValueError("the ownership head needs a board observation and the conv torso")
      owner = nn.Conv(1, (1, 1), dtype=self.dtype)(x).reshape(x.shape[0], -1)
      pooled = nn.relu(nn.Dense(self.num_channels, dtype=self.dtype)(x.mean(axis=(1, 2))))
      score = nn.Dense(1, dtype=self.dtype)(pooled)[:, 0]
      self.sow("intermediates", "ownership", owner.astype(jnp.float32))
      self.sow("intermediates", "score", score.astype(jnp.float32))
    return logits.astype(jnp.float32), value.astype(jnp.float32)


def make_network(num_actions: int, *, num_channels: int, num_blocks: int,
                 torso: str = "conv", bf16: bool = False, global_pool: bool = False,
                 reply_head: bool = False, ownership_head: bool = False) -> AlphaZeroNet:
  return AlphaZeroNet(num_actions=num_actions, num_channels=num_channels,
                      num_blocks=num_blocks, torso=torso,
                      dtype=jnp.bfloat16 if bf16 else jnp.float32,
                      global_pool=global_pool, reply_head=reply_head,
                      ownership_head=ownership_head)


def init_params(network: AlphaZeroNet, observation_shape, key: jax.Array):
  dummy = jnp.zeros((1, *observation_shape), jnp.float32)
  variables = network.init(key, dummy)
  return {"params": variables["params"]}  # without sown intermediates


# ---------------------------------------------------------------------------
# PPO actor-critic networks.



def _dense(features: int, scale: float, dtype) -> nn.Dense:
  # Orthogonal initialisation with PPO's usual gains (Engstrom et al. 2020).
  return nn.Dense(features, kernel_init=nn.initializers.orthogonal(scale),
                  bias_init=nn.initializers.zeros, dtype=dtype)


class ActorCritic(nn.Module):
  """Maps observations [B, *obs_shape] to (policy logits [B, A], value [B]).

  torso="mlp": separate actor and critic MLPs (`num_layers` x `hidden`) on
  the flattened observation, as in PureJaxRL's PPO; torso="cnn": the MinAtar
  network (one 3x3 conv of 16 channels, then a shared dense layer of
  `hidden`) for H x W x C grids. Outputs are float32.

  torso="column": a convolution along the horizontal axis whose kernel
  spans every row and every horizontal offset (-(W-1)..W-1, zero-padded),
  so column j's `column_features` describe the whole screen *relative to
  column j* (a ball three columns left of the paddle looks the same
  wherever the paddle is); their per-column values and their mean over
  columns feed the MLP stacks (see ColumnConv). column_heads > 0 adds that
  many attention pools over the columns: each head scores every column
  from its features and feeds the softmax-weighted sum of the columns'
  features, so a head that learns to find one object (the paddle) hands
  the MLP the screen relative to that object wherever it is.

  shared_torso (mlp, column): one stack of `num_layers` x `hidden` feeds both
  heads, as in the Atari PPO networks, so the critic's regression gradient
  shapes the features the policy reads; half the dense layers of two stacks.

  mirror_env: an env id of `envs.symmetry.MIRRORS`; the network is then
  made equivariant to that game's left-right mirror: it also runs on the
  mirrored observations and averages, so pi(mirror(s)) = swap(pi(s)) and
  V(mirror(s)) = V(s) exactly, and every sample teaches both sides of the
  board. Same parameters, twice the compute.
  """
  num_actions: int
  torso: str = "mlp"
  hidden: int = 64
  num_layers: int = 2
  activation: str = "tanh"
  dtype: jnp.dtype = jnp.float32
  mirror_env: str | None = None
  shared_torso: bool = False
  column_features: int = 32
  column_heads: int = 0

  @nn.compact
  def __call__(self, observation: chex.Array):
    # Imported here, not at the top: importing the envs package imports pgx,
    # which starts the XLA backend, and launchers import this module before
    # jax.distributed.initialize() (which must come first).
    from envs import symmetry
    batch = observation.shape[0]
    if self.mirror_env is not None:  # one pass over [s; mirror(s)]
      observation = jnp.concatenate(
          [observation, symmetry.mirror_observations(self.mirror_env, observation)])
    act = {"tanh": nn.tanh, "relu": nn.relu}[self.activation]
    x = observation.astype(self.dtype)
    gain = jnp.sqrt(2.0)
    if self.torso == "cnn":
      x = act(nn.Conv(16, (3, 3), padding="SAME", dtype=self.dtype)(x))
      x = x.reshape(x.shape[0], -1)
      x = act(_dense(self.hidden, gain, self.dtype)(x))
      actor = critic = x
    else:
      if self.torso == "column":
        x = _column_features(x, self.column_features, self.column_heads, act, gain,
                             self.dtype)
      x = x.reshape(x.shape[0], -1)
      actor = critic = x
      for _ in range(self.num_layers):
        actor = act(_dense(self.hidden, gain, self.dtype)(actor))
      if self.shared_torso:
        critic = actor
      else:
        for _ in range(self.num_layers):
          critic = act(_dense(self.hidden, gain, self.dtype)(critic))
    logits = _dense(self.num_actions, 0.01, self.dtype)(actor).astype(jnp.float32)
    value = _dense(1, 1.0, self.dtype)(critic)[:, 0].astype(jnp.float32)
    if self.mirror_env is not None:
      logits = 0.5 * (logits[:batch]
                      + symmetry.mirror_actions(self.mirror_env, logits[batch:]))
      value = 0.5 * (value[:batch] + value[batch:])
    return logits, value


class ColumnConv(nn.Module):
  """[B, H, W, C] -> [B, W, features]: a convolution along the horizontal
  axis whose kernel covers all H rows and every offset -(W-1)..W-1, zero
  padded, so output column j sees the board relative to column j.

  Computed as one dense matmul on the flattened board: the kernel
  [2W - 1, H * C, F] is laid out as the Toeplitz matrix [W * H * C, W * F]
  (entry (i, j) is the kernel at offset i - j). On XLA:CPU a PPO update
  with it ran ~2x faster than with the W windows gathered explicitly.
  """
  features: int
  scale: float
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    batch, height, width, channels = x.shape
    fan_in = height * (2 * width - 1) * channels
    kernel = self.param(
        "kernel", lambda key: nn.initializers.orthogonal(self.scale)(
            key, (fan_in, self.features)).reshape(2 * width - 1, height * channels,
                                                  self.features))
    bias = self.param("bias", nn.initializers.zeros, (self.features,))
    offsets = jnp.arange(width)[:, None] - jnp.arange(width)[None, :] + width - 1  # [i, j]
    toeplitz = kernel[offsets]                          # [W_in, W_out, H * C, F]
    toeplitz = toeplitz.transpose(0, 2, 1, 3).reshape(width * height * channels,
                                                      width * self.features)
    columns = x.transpose(0, 2, 1, 3).reshape(batch, -1)   # [B, (W_in, H, C)]
    y = jnp.dot(columns.astype(self.dtype), toeplitz.astype(self.dtype))
    return y.reshape(batch, width, self.features) + bias.astype(self.dtype)


def _column_features(x, features: int, heads: int, act, gain, dtype):
  """[B, H, W, C] -> [B, (W + 1 + heads) * features]: the ColumnConv's W
  feature vectors (see ActorCritic), their mean over columns and, per
  attention head, their softmax-weighted mean (weights from a linear score
  of each column's features)."""
  per_column = act(ColumnConv(features, gain, dtype)(x))     # [B, W, F]
  parts = [per_column.reshape(x.shape[0], -1), per_column.mean(axis=1)]
  if heads:
    scores = _dense(heads, 1.0, dtype)(per_column).astype(jnp.float32)   # [B, W, heads]
    weights = jax.nn.softmax(scores, axis=1).astype(dtype)
    parts.append(jnp.einsum("bwh,bwf->bhf", weights, per_column).reshape(x.shape[0], -1))
  return jnp.concatenate(parts, axis=-1)


def resolve_ppo_torso(torso: str, observation_shape) -> str:
  """'auto' -> 'cnn' for H x W x C grids, 'mlp' for everything else."""
  if torso != "auto":
    return torso
  return "cnn" if len(observation_shape) == 3 else "mlp"


# ---------------------------------------------------------------------------
# MuZero: representation, dynamics and prediction over a vector latent.



def normalise_latent(latent: jax.Array) -> jax.Array:
  """Min-max scales each example's latent into [0, 1] (MuZero appendix G):
  the dynamics' inputs keep one range however deep the unroll goes."""
  low = latent.min(axis=-1, keepdims=True)
  high = latent.max(axis=-1, keepdims=True)
  return (latent - low) / jnp.maximum(high - low, 1e-5)


class _ResidualMLP(nn.Module):
  """`num_blocks` pre-norm residual blocks of width `width`, input and
  output [N, width]."""
  width: int
  num_blocks: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    for _ in range(self.num_blocks):
      y = nn.relu(nn.LayerNorm(dtype=self.dtype)(x))
      y = nn.Dense(self.width, dtype=self.dtype)(y)
      y = nn.relu(nn.LayerNorm(dtype=self.dtype)(y))
      x = x + nn.Dense(self.width, dtype=self.dtype)(y)
    return x


class MuZeroNet(nn.Module):
  """The three MuZero functions over a latent vector [N, latent_size]:

  represent(observation [N, *obs]) -> latent
  recurrent(latent, action [N]) -> (next latent, reward logits [N, 2S+1])
  predict(latent) -> (policy logits [N, A], value logits [N, 2S+1])

  Latents are min-max normalised to [0, 1]. Rewards and values are
  categorical over the integer support -S..S of h(x) (`zerogo.targets`);
  their output layers start at zero, so an untrained net predicts 0. Values
  and rewards are from the side of the player to move (two-player games
  alternate). torso="conv" puts one 3x3 convolution of `num_channels`
  filters in front of the representation MLP for grid observations.
  """
  num_actions: int
  latent_size: int = 64
  num_blocks: int = 2
  support_size: int = 20
  torso: str = "mlp"
  num_channels: int = 16
  dtype: jnp.dtype = jnp.float32

  def setup(self):
    d = self.dtype
    atoms = 2 * self.support_size + 1
    zero = dict(kernel_init=nn.initializers.zeros, bias_init=nn.initializers.zeros)
    self.conv = nn.Conv(self.num_channels, (3, 3), padding="SAME", dtype=d)
    self.embed = nn.Dense(self.latent_size, dtype=d)
    self.represent_tower = _ResidualMLP(self.latent_size, self.num_blocks, d)
    self.represent_out = nn.Dense(self.latent_size, dtype=d)
    self.dynamics_in = nn.Dense(self.latent_size, dtype=d)
    self.dynamics_tower = _ResidualMLP(self.latent_size, self.num_blocks, d)
    self.dynamics_out = nn.Dense(self.latent_size, dtype=d)
    self.reward_hidden = nn.Dense(self.latent_size, dtype=d)
    self.reward_out = nn.Dense(atoms, dtype=d, **zero)
    self.predict_tower = _ResidualMLP(self.latent_size, self.num_blocks, d)
    self.policy_out = nn.Dense(self.num_actions, dtype=d, **zero)
    self.value_hidden = nn.Dense(self.latent_size, dtype=d)
    self.value_out = nn.Dense(atoms, dtype=d, **zero)

  def represent(self, observation):
    x = observation.astype(self.dtype)
    if x.ndim == 4 and self.torso == "conv":
      x = nn.relu(self.conv(x))
    x = self.embed(x.reshape(x.shape[0], -1))
    x = self.represent_out(nn.relu(self.represent_tower(x)))
    return normalise_latent(x.astype(jnp.float32))

  def recurrent(self, latent, action):
    x = jnp.concatenate([latent, jax.nn.one_hot(action, self.num_actions)], axis=-1)
    x = self.dynamics_tower(self.dynamics_in(x.astype(self.dtype)))
    hidden = nn.relu(x)
    reward = self.reward_out(nn.relu(self.reward_hidden(hidden)))
    next_latent = normalise_latent(self.dynamics_out(hidden).astype(jnp.float32))
    return next_latent, reward.astype(jnp.float32)

  def predict(self, latent):
    x = nn.relu(self.predict_tower(latent.astype(self.dtype)))
    logits = self.policy_out(x)
    value = self.value_out(nn.relu(self.value_hidden(x)))
    return logits.astype(jnp.float32), value.astype(jnp.float32)

  def __call__(self, observation):
    """Every function once (what `init` traces): (policy, value, reward logits)."""
    latent = self.represent(observation)
    logits, value = self.predict(latent)
    _, reward = self.recurrent(latent, jnp.zeros(latent.shape[0], jnp.int32))
    return logits, value, reward
