"""The typed configs of every algorithm: frozen dataclasses, nothing else.

Each field carries its help text, choices and range (`zerogo.config.field`):
the launchers generate their flags from these classes, and
`zerogo.config.check` enforces the ranges. Free of pgx and of anything that
touches a device: launchers read them before `jax.distributed.initialize`
(which must run before anything, pgx's import included, touches a device).
"""

from __future__ import annotations

import dataclasses

from zerogo.config import field
from zerogo.torsos import MUZERO_TORSOS, PPO_TORSOS, TORSOS

ACTIVATIONS = ("tanh", "relu")
# How PPO cuts a rollout [num_steps, num_envs] into minibatches: "steps", a
# random set of whole time steps (all envs at the same steps); "transitions",
# every env its own random set of steps (closer to PureJaxRL's shuffle of
# all (step, env) pairs, and still independent of the device count).
MINIBATCH_SAMPLING = ("steps", "transitions")
SEARCHES = ("gumbel", "puct")                         # agents/search.py
MAX_SEED = 2**31 - 1  # keeps every seed (and the seeds derived from it) a valid JAX seed


@dataclasses.dataclass(frozen=True)
class AlphaZeroConfig:
  """Everything that defines an AlphaZero run. Batch sizes are global."""
  env_id: str = field("tic_tac_toe", "Game to learn: a pgx board game id such as "
                      "tic_tac_toe, connect_four, othello, go_7x7, go_9x9 (go_NxN: N 2..19).",
                      flag="env", shape=True)
  seed: int = field(0, "Seed for parameters, self-play and sampling.", minimum=0,
                    maximum=MAX_SEED)
  num_iterations: int = field(100, "Iterations (self-play unroll + SGD steps) to run in total.",
                              minimum=1)
  # Self-play.
  selfplay_batch_size: int = field(
      256, "Games played in parallel over all devices (multiple of the device count).",
      minimum=1, shape=True)
  unroll_length: int = field(16, "Moves played in every game slot per iteration; games "
                             "carry over.", minimum=1)
  num_simulations: int = field(32, "MCTS simulations per self-play move.", minimum=1)
  play_simulations: int | None = field(
      None, "Simulations per move of the trained agent when it plays (evaluate.py, "
      "tournaments, GTP, play.py): its default search budget, which load_agent's "
      "num_simulations overrides. The launcher's periodic evaluations search with "
      "--num_simulations. Default: --num_simulations.", minimum=0)
  fast_search_fraction: float = field(
      0.0, "Playout cap randomization (KataGo): the share of self-play moves that get a "
      "cheap search of --fast_simulations, without exploration noise; they play fast "
      "and train only the value (their policy target is empty). Decided per move for "
      "every game at once. 0: every move gets the full search.", minimum=0, maximum=1)
  fast_simulations: int = field(8, "Playout cap randomization: simulations of a cheap "
                                "search (less than --num_simulations).", minimum=1)
  search: str = field("gumbel", "gumbel: Gumbel MuZero policy; puct: MuZero PUCT with "
                      "Dirichlet noise.", choices=SEARCHES)
  max_num_considered_actions: int = field(16, "Gumbel search: actions sampled at the root.",
                                          minimum=1)
  gumbel_scale: float = field(
      1.0, "Gumbel search: scale of the Gumbel noise on the played move in self-play "
      "(exploration; the policy target does not depend on it).", minimum=0)
  dirichlet_alpha: float = field(0.3, "PUCT root noise concentration.", above=0)
  dirichlet_fraction: float = field(0.25, "PUCT root noise weight.", minimum=0, maximum=1)
  sample_moves: int = field(
      0, "Moves at the start of each self-play game that sample with Gumbel (or "
      "Dirichlet) noise; later moves play the search's best action, so game results "
      "reflect strong play. 0: every move samples.", minimum=0)
  random_opening_moves: int = field(
      0, "Each self-play game opens with a random number (0 to this) of uniformly "
      "random legal moves, so training sees positions good play never reaches; those "
      "moves are searched but not stored (their value target would be biased). 0: off.",
      minimum=0)
  # Network.
  num_channels: int = field(64, "Width of the residual tower.", minimum=1, shape=True)
  num_blocks: int = field(4, "Residual blocks in the tower (layers of the MLP).", minimum=0,
                          shape=True)
  torso: str = field(
      "conv", "conv: AlphaZero residual conv tower; mlp: flattened board through dense "
      "layers of width --num_channels (much cheaper on small boards); patch_mlp: one 4x4 "
      "conv of --num_channels/4 filters, then that MLP.", choices=TORSOS, shape=True)
  global_pool: bool = field(
      False, "Conv tower: KataGo's global pooling in every residual block (the mean and "
      "max of a quarter of the channels over the board feed a per-channel bias).",
      shape=True)
  reply_head: bool = field(
      False, "Auxiliary head predicting the opponent's reply (the search policy at the "
      "next position), trained with weight --reply_loss_weight; unused in play.",
      shape=True)
  reply_loss_weight: float = field(0.15, "Weight of the opponent-reply loss (with "
                                   "--reply_head).", minimum=0)
  no_pass_before: int = field(
      0, "Go: the search may not pass before this move of a game (unless nothing else "
      "is legal), in self-play and when the agent plays; 0: always. Self-play that may "
      "pass from the start collapses into short games ended by two early passes.",
      minimum=0)
  ownership_head: bool = field(
      False, "Go, conv torso: KataGo's auxiliary heads, trained on every finished game's "
      "final ownership of each point (weight --ownership_loss_weight) and its score "
      "margin (weight --score_loss_weight); unused in play.", shape=True)
  ownership_loss_weight: float = field(1.5, "Weight of the ownership loss (mean binary "
                                       "cross-entropy over the points).", minimum=0)
  score_loss_weight: float = field(0.5, "Weight of the score loss (squared error of the "
                                   "margin over the number of points).", minimum=0)
  bf16: bool = field(False, "bfloat16 activations; auto = on for GPU/TPU, off on CPU.",
                     auto=True)
  # Learning.
  replay_rows: int = field(64, "Positions kept per game slot (replay = rows x "
                           "selfplay_batch_size).", minimum=1, shape=True)
  train_batch_size: int = field(1024, "Positions per SGD step (a multiple of "
                                "--selfplay_batch_size).", minimum=1)
  sgd_steps_per_iteration: int = field(8, "SGD steps after each self-play unroll.", minimum=1)
  learning_rate: float = field(1e-3, "Peak AdamW learning rate (cosine decay).", above=0)
  weight_decay: float = field(1e-4, "AdamW weight decay.", minimum=0)
  warmup_steps: int = field(50, "Linear learning-rate warm-up, in SGD steps.", minimum=0)
  value_loss_weight: float = field(1.0, "Weight of the value loss.", minimum=0)
  search_value_weight: float = field(
      0.0, "Value target = this weight x the root search value + (1 - it) x the game "
      "result (0: game result only, as in AlphaZero).", minimum=0, maximum=1)
  augment: bool = field(True, "Train on a random board symmetry of each sampled position "
                        "(8 for square boards, 2 for connect four, none otherwise).")
  init_from: str | None = field(
      None, "Start from the network of this checkpoint (a launch/pretrain.py or selfplay "
      "workdir, checkpoints dir or step dir) instead of random parameters; its network "
      "flags must match. Ignored when the workdir already has a checkpoint (resume).")

  @property
  def samples_per_slot(self) -> int:
    return self.train_batch_size // self.selfplay_batch_size

  @property
  def total_sgd_steps(self) -> int:
    return self.num_iterations * self.sgd_steps_per_iteration


@dataclasses.dataclass(frozen=True)
class PPOConfig:
  """Everything that defines a PPO run. `num_envs` is global (all devices)."""
  env_id: str = field("minatar-breakout", "minatar-breakout, minatar-asterix, "
                      "minatar-freeway, minatar-space_invaders, minatar-seaquest, "
                      "CartPole-v1, or a two-player board game (connect_four, tic_tac_toe, "
                      "...) for self-play.", flag="env", shape=True)
  seed: int = field(0, "Base seed; seed i of --num_seeds folds in i.", minimum=0,
                    maximum=MAX_SEED)
  num_seeds: int = field(1, "Independent agents trained side by side in one compiled "
                         "program.", minimum=1, shape=True)
  total_steps: int = field(10_000_000, "Environment steps per seed.", minimum=1)
  num_envs: int = field(64, "Parallel environments per seed, over all devices (multiple of "
                        "the device count).", minimum=1, shape=True)
  num_steps: int = field(128, "Rollout length per update.", minimum=1)
  num_epochs: int = field(4, "Passes over each rollout.", minimum=1)
  num_minibatches: int = field(8, "Minibatches per epoch.", minimum=1)
  minibatch_sampling: str = field(
      "steps", "steps: a minibatch is a random set of whole time steps (all envs at the "
      "same steps); transitions: every env contributes its own random time steps.",
      choices=MINIBATCH_SAMPLING)
  learning_rate: float = field(5e-4, "Adam learning rate.", above=0)
  anneal_lr: bool = field(True, "Decay the learning rate linearly to 0.")
  gamma: float = field(0.99, "Discount.", minimum=0, maximum=1)
  gae_lambda: float = field(0.95, "GAE lambda.", minimum=0, maximum=1)
  clip_eps: float = field(0.2, "PPO clip range (policy ratio and value).", above=0)
  clip_value: bool = field(True, "Clip the value update to +-clip_eps around the rollout's "
                           "value (PPO2 style); --noclip_value: plain squared error.")
  ent_coef: float = field(0.01, "Entropy bonus weight.")
  vf_coef: float = field(0.5, "Value loss weight.", minimum=0)
  max_grad_norm: float = field(0.5, "Global gradient-norm clip.", above=0)
  torso: str = field(
      "auto", "auto: cnn for grid observations (MinAtar, boards), mlp for vectors; "
      "column: a horizontal convolution spanning the whole screen, so every column sees "
      "the board relative to itself, then the MLP (grids only).", choices=PPO_TORSOS,
      shape=True)
  hidden: int = field(64, "Width of the dense layers.", minimum=1, shape=True)
  num_layers: int = field(2, "Dense layers of the MLP actor and critic.", minimum=1,
                          shape=True)
  activation: str = field("tanh", "Hidden activation.", choices=ACTIVATIONS)
  mirror_symmetry: bool = field(
      False, "Make the actor-critic equivariant to the game's left-right mirror (it also "
      "sees every observation mirrored, with left and right swapped): minatar-breakout "
      "and CartPole-v1.")
  shared_torso: bool = field(
      False, "--torso=mlp or column: one stack of dense layers feeds both the policy and "
      "the value head (the value's gradient shapes the policy's features; half the dense "
      "layers) instead of separate actor and critic MLPs.", shape=True)
  column_features: int = field(
      32, "--torso=column: features computed for each screen column (each sees the whole "
      "screen relative to its column).", minimum=1, shape=True)
  column_heads: int = field(
      0, "--torso=column: attention pools over the columns (0: none); each head weights "
      "the columns by a learned score of their features and passes the weighted mean on, "
      "e.g. the screen relative to the paddle.", minimum=0, shape=True)
  sticky_action_prob: float | None = field(
      None, "MinAtar: probability of repeating the last action instead of the chosen one "
      "(default 0.1 for MinAtar, 0 for CartPole).")
  init_from: str | None = field(
      None, "Start every seed from the policy of this checkpoint (a ppo run or an "
      "launch/offline.py run; workdir, checkpoints dir or step dir) instead of random "
      "parameters; its network flags must match. Ignored when resuming.")
  # Two-player games only.
  pool_size: int = field(8, "Self-play: past policies kept as opponents.", minimum=1,
                         shape=True)
  snapshot_every: int = field(10, "Self-play: updates between snapshots added to the pool.",
                              minimum=1)
  self_play_fraction: float = field(
      0.5, "Self-play: share of games against the current policy (the rest face a pool "
      "snapshot).", minimum=0, maximum=1)
  random_opponent_fraction: float = field(
      0.0, "Self-play: share of games against a uniformly random player.", minimum=0,
      maximum=1)

  @property
  def steps_per_update(self) -> int:
    return self.num_envs * self.num_steps

  @property
  def num_updates(self) -> int:
    return max(self.total_steps // self.steps_per_update, 1)


@dataclasses.dataclass(frozen=True)
class MuZeroConfig:
  """Everything that defines a MuZero run. `num_envs` and batch sizes are global."""
  env_id: str = field("CartPole-v1", "CartPole-v1, minatar-breakout (and the other MinAtar "
                      "games), or a two-player board game such as tic_tac_toe or connect_four.",
                      flag="env", shape=True)
  seed: int = field(0, "Seed for parameters, acting and sampling.", minimum=0,
                    maximum=MAX_SEED)
  num_iterations: int = field(200, "Iterations (acting unroll + SGD steps) to run in total.",
                              minimum=1)
  # Acting.
  num_envs: int = field(16, "Environments (game slots) played in parallel over all devices "
                        "(multiple of the device count).", minimum=1, shape=True)
  unroll_length: int = field(8, "Steps acted in every env per iteration; episodes carry "
                             "over.", minimum=1)
  sticky_action_prob: float | None = field(
      None, "MinAtar: probability of repeating the last action instead of the chosen one "
      "(default 0.1 for MinAtar, 0 for CartPole).")
  gamma: float = field(0.997, "Discount per step (two-player games: per ply, with the sign "
                       "flipping between players; 1 for board games).", minimum=0, maximum=1)
  num_simulations: int = field(16, "MCTS simulations per move, in the learned model.",
                               minimum=1)
  search: str = field("gumbel", "gumbel: Gumbel MuZero policy; puct: MuZero PUCT with "
                      "Dirichlet noise.", choices=SEARCHES)
  max_num_considered_actions: int = field(16, "Gumbel search: actions sampled at the root.",
                                          minimum=1)
  gumbel_scale: float = field(1.0, "Gumbel search: scale of the Gumbel noise on the played "
                              "move while acting (exploration).", minimum=0)
  dirichlet_alpha: float = field(0.3, "PUCT root noise concentration.", above=0)
  dirichlet_fraction: float = field(0.25, "PUCT root noise weight.", minimum=0, maximum=1)
  # Network.
  latent_size: int = field(64, "Width of the latent state and of every dense layer.",
                           minimum=2, shape=True)
  num_blocks: int = field(2, "Residual blocks in each of the representation, dynamics and "
                          "prediction towers.", minimum=0, shape=True)
  torso: str = field("mlp", "mlp: flattened observation into the representation MLP; conv: "
                     "one 3x3 convolution of --num_channels filters first (grids only).",
                     choices=MUZERO_TORSOS, shape=True)
  num_channels: int = field(16, "--torso=conv: filters of the convolution.", minimum=1,
                            shape=True)
  support_size: int = field(20, "Values and rewards are categorical over the integers "
                            "-S..S of h(x) = sign(x)(sqrt(|x|+1)-1)+0.001x (S=20 covers "
                            "|x| up to about 400).", minimum=1, shape=True)
  # Learning.
  replay_rows: int = field(256, "Steps kept per env slot (replay = rows x num_envs).",
                           minimum=2, shape=True)
  num_unroll_steps: int = field(5, "K: steps the dynamics is unrolled in training.",
                                minimum=1)
  td_steps: int = field(10, "n: steps of rewards before the value target bootstraps from "
                        "the target network (at least the game length: Monte Carlo).",
                        minimum=1)
  train_batch_size: int = field(256, "Segments per SGD step (a multiple of --num_envs).",
                                minimum=1)
  sgd_steps_per_iteration: int = field(4, "SGD steps after each acting unroll.", minimum=1)
  learning_rate: float = field(1e-3, "Peak AdamW learning rate (cosine decay).", above=0)
  weight_decay: float = field(1e-4, "AdamW weight decay.", minimum=0)
  warmup_steps: int = field(50, "Linear learning-rate warm-up, in SGD steps.", minimum=0)
  value_loss_weight: float = field(0.25, "Weight of the value loss (0.25 as in MuZero "
                                   "Reanalyse).", minimum=0)
  target_update_every: int = field(100, "SGD steps between copies of the parameters into "
                                   "the target network that bootstraps value targets.",
                                   minimum=1)
  reanalyse_fraction: float = field(
      0.0, "Share of each batch whose policy targets come from a fresh search of the "
      "stored observations with the latest parameters (MuZero Reanalyse; 0: off).",
      minimum=0, maximum=1)

  @property
  def samples_per_slot(self) -> int:
    return self.train_batch_size // self.num_envs

  @property
  def reanalysed_per_slot(self) -> int:
    return round(self.reanalyse_fraction * self.samples_per_slot)

  @property
  def segment_length(self) -> int:
    """Rows per sampled segment: the unroll and the bootstrap row of its last step."""
    return self.num_unroll_steps + self.td_steps + 1

  @property
  def steps_per_iteration(self) -> int:
    return self.num_envs * self.unroll_length

  @property
  def total_sgd_steps(self) -> int:
    return self.num_iterations * self.sgd_steps_per_iteration


@dataclasses.dataclass(frozen=True)
class PretrainConfig:
  """Supervised warm start of the AlphaZero network from game records
  (AlphaGo's SL stage): the policy head learns the played moves, the value
  head the game results. Network and search fields mean what they mean in
  AlphaZeroConfig (the checkpoint plays, and seeds self-play, as one)."""
  env_id: str = field("go_7x7", "Game of the records: a pgx board game id (go_NxN for Go "
                      "SGF files).", flag="env", shape=True)
  records: str | None = field(None, "Comma-separated SGF files, games.jsonl files (launch/"
                       "tournament.py) or directories holding them.")
  seed: int = field(0, "Seed for parameters, the held-out split and sampling.", minimum=0,
                    maximum=MAX_SEED)
  num_steps: int = field(2000, "SGD steps in total (a multiple of --steps_per_call).",
                         minimum=1)
  steps_per_call: int = field(20, "SGD steps per compiled call (the loop's {unit}s are "
                              "SGD steps).", minimum=1)
  batch_size: int = field(256, "Positions per SGD step, over all devices (a multiple of "
                          "the device count).", minimum=1)
  learning_rate: float = field(1e-3, "Peak AdamW learning rate (cosine decay).", above=0)
  weight_decay: float = field(1e-4, "AdamW weight decay.", minimum=0)
  warmup_steps: int = field(100, "Linear learning-rate warm-up, in SGD steps.", minimum=0)
  value_loss_weight: float = field(1.0, "Weight of the value loss.", minimum=0)
  augment: bool = field(True, "Train on a random board symmetry of each position (8 for "
                        "square boards, 2 for connect four, none otherwise).")
  winner_only: bool = field(False, "Learn the policy only from the winners' moves (the "
                            "value head still learns every position).")
  players: str | None = field(None, "Learn the policy only from moves by players whose name matches "
                       "this regular expression (e.g. 'level 10'); empty: everyone.")
  heldout_fraction: float = field(0.1, "Share of the games (whole games) held out for "
                                  "the held-out accuracy and loss.", minimum=0, maximum=0.9)
  # Network (as AlphaZeroConfig).
  num_channels: int = field(64, "Width of the residual tower.", minimum=1, shape=True)
  num_blocks: int = field(4, "Residual blocks in the tower (layers of the MLP).", minimum=0,
                          shape=True)
  torso: str = field("conv", "conv, mlp or patch_mlp (as in launch/selfplay.py).",
                     choices=TORSOS, shape=True)
  bf16: bool = field(False, "bfloat16 activations; auto = on for GPU/TPU, off on CPU.",
                     auto=True)
  # How the checkpoint plays (evaluation, load_agent).
  num_simulations: int = field(32, "MCTS simulations per move when the pretrained network "
                               "plays (evaluation, tournaments).", minimum=0)
  search: str = field("gumbel", "gumbel or puct (as in launch/selfplay.py).",
                      choices=SEARCHES)
  max_num_considered_actions: int = field(16, "Gumbel search: actions sampled at the root.",
                                          minimum=1)


OFFLINE_ALGORITHMS = ("bc", "cql")


@dataclasses.dataclass(frozen=True)
class OfflineConfig:
  """Offline RL from a logged dataset (Minari format, launch/log_play.py):
  behaviour cloning, or discrete CQL (Kumar et al. 2020: double DQN plus a
  penalty that pushes down Q-values of actions the data did not take). The
  network is PPO's actor-critic (network fields as in PPOConfig; the policy
  logits are the Q-values for CQL), so `ppo.py --init_from` starts from it."""
  env_id: str = field("minatar-breakout", "The env the dataset was logged on (evaluation "
                      "plays it): minatar-breakout, ..., CartPole-v1.", flag="env",
                      shape=True)
  dataset: str | None = field(None, "Directory of a Minari dataset (launch/log_play.py prints it).")
  algorithm: str = field("cql", "bc: behaviour cloning (imitate the logged actions); "
                         "cql: conservative Q-learning.", choices=OFFLINE_ALGORITHMS)
  seed: int = field(0, "Base seed; seed i of --num_seeds folds in i.", minimum=0,
                    maximum=MAX_SEED)
  num_seeds: int = field(1, "Independent agents trained side by side in one compiled "
                         "program.", minimum=1, shape=True)
  num_steps: int = field(20_000, "SGD steps per seed (a multiple of --steps_per_call).",
                         minimum=1)
  steps_per_call: int = field(100, "SGD steps per compiled call (the loop's {unit}s are "
                              "SGD steps).", minimum=1)
  batch_size: int = field(256, "Transitions per SGD step, over all devices.", minimum=1)
  learning_rate: float = field(3e-4, "Adam learning rate.", above=0)
  gamma: float = field(0.99, "Discount (cql).", minimum=0, maximum=1)
  cql_alpha: float = field(1.0, "Weight of CQL's conservative penalty: logsumexp of the "
                           "Q-values minus the logged action's.", minimum=0)
  target_update: float = field(0.005, "cql: Polyak rate of the target network.", above=0,
                               maximum=1)
  max_grad_norm: float = field(10.0, "Global gradient-norm clip.", above=0)
  sticky_action_prob: float | None = field(
      None, "MinAtar evaluation: sticky-action probability (default 0.1; 0 for CartPole).")
  # Network (as PPOConfig).
  torso: str = field("auto", "auto, mlp, cnn or column (as in launch/ppo.py).",
                     choices=PPO_TORSOS, shape=True)
  hidden: int = field(64, "Width of the dense layers.", minimum=1, shape=True)
  num_layers: int = field(2, "Dense layers.", minimum=1, shape=True)
  activation: str = field("relu", "Hidden activation.", choices=ACTIVATIONS)
  mirror_symmetry: bool = field(False, "As in launch/ppo.py.")
  shared_torso: bool = field(False, "As in launch/ppo.py.", shape=True)
  column_features: int = field(32, "As in launch/ppo.py.", minimum=1, shape=True)
  column_heads: int = field(0, "As in launch/ppo.py.", minimum=0, shape=True)


RATERS = ("synthetic", "ai", "human")
RATER_OBJECTIVES = ("return", "centre")
QUERY_SELECTIONS = ("disagreement", "random")
PREFERENCE_LOSSES = ("pairs", "plackett_luce")


@dataclasses.dataclass(frozen=True)
class RLHFConfig(PPOConfig):
  """PPO on a reward model learned from rankings of clips (Christiano et al.
  2017; InstructGPT's recipe): PPO's fields mean what they mean in
  PPOConfig (one-player envs, one seed per run); the env's reward is hidden
  from the agent and shown only to the synthetic rater and the metrics."""
  env_id: str = field("CartPole-v1", "CartPole-v1 or a MinAtar game (minatar-breakout, ...).",
                      flag="env", shape=True)
  total_steps: int = field(300_000, "Environment steps.", minimum=1)
  num_envs: int = field(4, "Parallel environments, over all devices (multiple of the "
                        "device count).", minimum=1, shape=True)
  # Preferences.
  clip_length: int = field(25, "Steps per clip shown to the rater (at most --num_steps); "
                           "a clip stops where its episode ends.", minimum=1, shape=True)
  clips_per_query: int = field(2, "Clips the rater ranks at once (2: a comparison).",
                               minimum=2, shape=True)
  total_labels: int = field(1000, "Label budget: rankings asked for over the whole run.",
                            minimum=1, shape=True)
  label_fraction: float = field(
      0.5, "Labels are asked for during this share of the {unit}s, front-loaded (the rate "
      "falls linearly to 0), so early reward models see most labels.", above=0, maximum=1,
      shape=True)
  candidate_factor: int = field(
      4, "Candidate queries drawn per query asked (--query_selection=disagreement keeps "
      "the ones the ensemble disagrees on most).", minimum=1, shape=True)
  query_selection: str = field(
      "disagreement", "disagreement: ask about the candidates whose predicted preference "
      "varies most over the ensemble (active, as in Christiano et al.); random: any "
      "candidates.", choices=QUERY_SELECTIONS)
  rater: str = field(
      "synthetic", "synthetic: ranks by the hidden score of --rater_objective; ai: by a "
      "trained agent's value (--rater_checkpoint); human: asks you in the terminal and "
      "appends every answer to <workdir>/labels.jsonl.", choices=RATERS)
  rater_objective: str = field(
      "return", "What the synthetic rater wants: return (the env's reward) or centre "
      "(CartPole: reward weighted by 1 - |cart x| / 2.4, the cart kept near the middle).",
      choices=RATER_OBJECTIVES)
  rater_temperature: float = field(
      0.0, "Synthetic rater: 0 ranks exactly by score; T > 0 draws the ranking "
      "Boltzmann-rationally (Plackett-Luce with logits score / T).", minimum=0)
  rater_mistake_rate: float = field(
      0.0, "Synthetic rater: probability that a ranking has one random adjacent pair "
      "swapped (for two clips: the label flipped).", minimum=0, maximum=1)
  rater_checkpoint: str | None = field(
      None, "--rater=ai: a ppo run (workdir, checkpoints dir or step dir) on the same env "
      "whose value estimate, summed over a clip's steps, ranks the clips.")
  # Reward model.
  preference_loss: str = field(
      "pairs", "pairs: Bradley-Terry on all K choose 2 pairs of each ranking (InstructGPT); "
      "plackett_luce: the likelihood of the whole ranking.", choices=PREFERENCE_LOSSES)
  reward_ensemble: int = field(3, "Reward models trained side by side (vmapped); their "
                               "mean is the reward, their disagreement picks queries.",
                               minimum=1, shape=True)
  reward_hidden: int = field(64, "Width of the reward model's dense layers.", minimum=1,
                             shape=True)
  reward_layers: int = field(2, "Dense layers of the reward MLP over (observation, "
                             "one-hot action).", minimum=1, shape=True)
  reward_learning_rate: float = field(1e-3, "Adam learning rate of the reward models.",
                                      above=0)
  reward_steps: int = field(16, "Reward-model SGD steps per {unit}, on all labels so far.",
                            minimum=1)
  reward_batch_size: int = field(32, "Labels per reward-model SGD step, over all devices "
                                 "(a multiple of the device count).", minimum=1)
  heldout_every: int = field(10, "Every this many-th label is held out of reward-model "
                             "training and scores its accuracy (0: none held out).",
                             minimum=0, shape=True)
  normalise_reward: bool = field(
      True, "Scale the learned reward to unit root mean square over each rollout (not "
      "shifted: an episode's end is an absorbing state of reward 0, so the sign matters).")
  kl_coef: float = field(
      0.0, "Weight of the KL penalty toward the starting policy (--init_from, else the "
      "initial random policy), subtracted from the learned reward at each step as "
      "InstructGPT does.", minimum=0)
