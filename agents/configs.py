"""The typed configs of every algorithm: frozen dataclasses, nothing else.

Kept free of JAX and pgx imports: launchers take their flag defaults from
here before `jax.distributed.initialize` (which must run before anything,
pgx's import included, touches a device).
"""

from __future__ import annotations

import dataclasses

ACTIVATIONS = ("tanh", "relu")
# How PPO cuts a rollout [num_steps, num_envs] into minibatches: "steps", a
# random set of whole time steps (all envs at the same steps); "transitions",
# every env its own random set of steps (closer to PureJaxRL's shuffle of
# all (step, env) pairs, and still independent of the device count).
MINIBATCH_SAMPLING = ("steps", "transitions")


@dataclasses.dataclass(frozen=True)
class AlphaZeroConfig:
  """Everything that defines an AlphaZero run. Batch sizes are global."""
  env_id: str = "tic_tac_toe"
  seed: int = 0
  num_iterations: int = 100
  # Self-play.
  selfplay_batch_size: int = 256      # games played in parallel
  unroll_length: int = 16             # moves per game slot per iteration
  num_simulations: int = 32
  search: str = "gumbel"              # or "puct"
  max_num_considered_actions: int = 16
  gumbel_scale: float = 1.0           # gumbel only: 0 plays the search's best move
  dirichlet_alpha: float = 0.3        # puct only
  dirichlet_fraction: float = 0.25    # puct only
  sample_moves: int = 0               # noisy, sampled moves per game; later moves
                                      # play the search's best action (0: all sampled)
  # Network.
  num_channels: int = 64
  num_blocks: int = 4
  torso: str = "conv"                 # "mlp": dense layers; "patch_mlp": 4x4 conv + dense
  bf16: bool = False
  # Learning.
  replay_rows: int = 64               # positions kept per game slot
  train_batch_size: int = 1024        # positions per SGD step
  sgd_steps_per_iteration: int = 8
  learning_rate: float = 1e-3
  weight_decay: float = 1e-4
  warmup_steps: int = 50
  value_loss_weight: float = 1.0
  search_value_weight: float = 0.0    # value target: this much root search value,
                                      # the rest game result
  augment: bool = True                # random board symmetry per training example

  @property
  def samples_per_slot(self) -> int:
    return self.train_batch_size // self.selfplay_batch_size

  @property
  def total_sgd_steps(self) -> int:
    return self.num_iterations * self.sgd_steps_per_iteration

  # Fields that fix the shape of a checkpoint: a restore must agree on them.
  SHAPE_FIELDS = ("env_id", "num_channels", "num_blocks", "torso", "selfplay_batch_size",
                  "replay_rows")


@dataclasses.dataclass(frozen=True)
class PPOConfig:
  """Everything that defines a PPO run. `num_envs` is global (all devices)."""
  env_id: str = "minatar-breakout"
  seed: int = 0
  num_seeds: int = 1                   # independent agents in one program
  total_steps: int = 10_000_000        # env steps per seed
  num_envs: int = 64
  num_steps: int = 128                 # rollout length per update
  num_epochs: int = 4
  num_minibatches: int = 8
  minibatch_sampling: str = "steps"    # or "transitions" (see MINIBATCH_SAMPLING)
  learning_rate: float = 5e-4
  anneal_lr: bool = True               # linear decay to 0 over the run
  gamma: float = 0.99
  gae_lambda: float = 0.95
  clip_eps: float = 0.2
  clip_value: bool = True              # value loss also clipped to +-clip_eps
  ent_coef: float = 0.01
  vf_coef: float = 0.5
  max_grad_norm: float = 0.5
  torso: str = "auto"                  # auto: cnn for grids, mlp for vectors
  hidden: int = 64
  num_layers: int = 2
  activation: str = "tanh"
  mirror_symmetry: bool = False        # left-right equivariant network (envs.symmetry.MIRRORS)
  shared_torso: bool = False           # mlp, column: one hidden stack feeds both heads
  column_features: int = 32            # column torso: features per screen column
  column_heads: int = 0                # column torso: attention pools over the columns
  sticky_action_prob: float | None = None  # None: the env's default
  # Two-player games only.
  pool_size: int = 8
  snapshot_every: int = 10
  self_play_fraction: float = 0.5
  random_opponent_fraction: float = 0.0

  SHAPE_FIELDS = ("env_id", "num_seeds", "num_envs", "torso", "hidden", "num_layers",
                  "shared_torso", "column_features", "column_heads", "pool_size")

  @property
  def steps_per_update(self) -> int:
    return self.num_envs * self.num_steps

  @property
  def num_updates(self) -> int:
    return max(self.total_steps // self.steps_per_update, 1)
