"""The host loop of a PPO run: resume, update, log, evaluate, save.

Library code (no flags): `launch/ppo.py` builds the config and options and
calls `run`. The jitted program runs `updates_per_call` updates per call;
the host fetches their metrics only when it logs.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time

import jax
import numpy as np

from agents import baselines, ppo
from zerogo import arena, checkpoint, metrics as metrics_lib, preemption, sharding
from zerogo.agent import policy_agent

ALGORITHM = "ppo"


@dataclasses.dataclass(frozen=True)
class RunOptions:
  """How a run is driven (not what it learns). Intervals are in updates."""
  workdir: str
  updates_per_call: int = 1
  log_every: int = 10
  checkpoint_every: int = 100
  max_checkpoints: int = 3
  eval_every: int = 100               # 0 disables periodic evaluation
  eval_episodes: int = 32
  eval_uct_simulations: int = 100     # two-player games; 0 skips UCT
  progress: bool = True
  stop_at: int | None = None          # save and stop after this update
  time_budget_s: float | None = None  # save and stop once training took this long
  flags_text: str = ""


def save_checkpoint(ckpt, config: ppo.PPOConfig, state: ppo.RunState, update: int,
                    flags_text: str = "") -> None:
  checkpoint.save_run(ckpt, algorithm=ALGORITHM, config=config, state=state,
                      params=state.train.params, iteration=update, flags_text=flags_text)


def make_greedy_returns(env, network, num_episodes: int):
  """`returns(params, key) -> float32[num_episodes]`: undiscounted returns of
  greedy (argmax) episodes, each played to its end or the env's time limit."""
  agent = policy_agent(env, network, None)
  return lambda params, key: arena.episode_returns(
      dataclasses.replace(agent, params=params), key, num_episodes)


class Evaluator:
  """Greedy-policy evaluation of every seed: mean return over episodes
  (one-player games) or win rates against random and UCT (two-player)."""

  def __init__(self, trainer: ppo.PPO, options: RunOptions):
    self.env, self.config = trainer.env, trainer.config
    self.two_player = self.env.num_players == 2
    self.agent = policy_agent(self.env, trainer.network, None, name="ppo")
    self.num = options.eval_episodes
    if self.two_player:
      self.opponents = [baselines.random_agent(self.env)]
      if options.eval_uct_simulations > 0:
        self.opponents.append(baselines.uct_agent(self.env, options.eval_uct_simulations))
    else:
      self.returns = make_greedy_returns(self.env, trainer.network, self.num)

  def __call__(self, params, update: int) -> dict:
    seeds = self.config.num_seeds
    per_seed = [jax.tree.map(lambda x: x[s], params) for s in range(seeds)]
    rows: dict[str, list[float]] = {}
    for s, p in enumerate(per_seed):
      key = jax.random.fold_in(jax.random.PRNGKey(self.config.seed + 7919 * (s + 1)), update)
      if self.two_player:
        agent = dataclasses.replace(self.agent, params=p)
        for i, opponent in enumerate(self.opponents):
          result = arena.play_match(agent, opponent, jax.random.fold_in(key, i),
                                    self.num).summary()
          name = opponent.name.split(":")[0]
          rows.setdefault(f"eval/{name}_win_rate", []).append(result["wins"] / result["games"])
      else:
        rows.setdefault("eval/episode_return", []).append(
            float(np.mean(jax.device_get(self.returns(p, key)))))
    return _with_seeds(rows)


def _with_seeds(rows: dict[str, list[float]]) -> dict:
  """{name: [per seed]} -> name (mean over seeds) and name/seed_i."""
  out = {}
  for name, values in rows.items():
    out[name] = float(np.mean(values))
    if len(values) > 1:
      out.update({f"{name}/seed_{i}": v for i, v in enumerate(values)})
  return out


def summarise(chunks: list[dict]) -> dict:
  """Host-side scalars of several calls' metrics ([updates, seeds] each):
  losses averaged, episode return weighted by finished episodes (absent
  when none finished)."""
  stacked = {k: np.concatenate([np.asarray(c[k]) for c in chunks]) for k in chunks[0]}
  episodes = stacked.pop("episodes")                        # [U, S]
  ret, length = stacked.pop("episode_return"), stacked.pop("episode_length")
  out = {k: float(v.mean()) for k, v in stacked.items()}
  finished = episodes.sum(0)                                 # [S]
  if (finished > 0).all():
    out.update(_with_seeds({
        "episode_return": list((ret * episodes).sum(0) / finished),
        "episode_length": list((length * episodes).sum(0) / finished)}))
  out["episodes"] = float(finished.sum())
  return out


@functools.lru_cache(maxsize=4)
def _trainer(config: ppo.PPOConfig, updates_per_call: int) -> ppo.PPO:
  # Cached: runs of the same config in one process (resume, sweeps, tests)
  # reuse one compiled program.
  return ppo.PPO(config, updates_per_step=updates_per_call)


def run(config: ppo.PPOConfig, options: RunOptions) -> ppo.RunState:
  """Trains until `config.num_updates`, resuming from the workdir's latest
  checkpoint if there is one. Returns the final RunState."""
  trainer = _trainer(config, options.updates_per_call)
  workdir = os.path.abspath(options.workdir)
  ckpt = checkpoint.Checkpointer(checkpoint.checkpoint_dir(workdir),
                                 max_to_keep=options.max_checkpoints)
  state = checkpoint.resume_or_init(ckpt, algorithm=ALGORITHM, config=config,
                                    init=trainer.init, abstract_state=trainer.abstract_state)
  start = int(jax.device_get(state.update))
  total = config.num_updates
  last = total if options.stop_at is None else min(options.stop_at, total)
  per_call = options.updates_per_call
  if (last - start) % per_call:
    raise ValueError(f"--updates_per_call={per_call} must divide the updates left "
                     f"({last - start})")

  writer = metrics_lib.MetricsWriter(workdir, resume_from=start)
  evaluator = Evaluator(trainer, options) if options.eval_every > 0 else None
  steps_per_update = config.steps_per_update
  bar = metrics_lib.progress_bar(total * steps_per_update, initial=start * steps_per_update,
                                 desc=f"ppo {config.env_id}", enabled=options.progress,
                                 unit="step")
  started, pending = time.time(), []
  clock = metrics_lib.TrainClock(writer.previous_train_s, options.time_budget_s)
  preempted_at = None
  with preemption.SigtermWatch() as watch:
    for update in range(start + per_call, last + 1, per_call):
      if clock.out_of_time:  # a resumed run whose budget is already spent
        break
      clock.start()
      state, chunk = trainer.step(state)
      pending.append(jax.device_get(chunk))
      clock.stop()
      # Agreed over processes: every process must stop at the same update.
      stop, out_of_time = watch.poll(clock.out_of_time)
      final = update == last or out_of_time or stop
      due = lambda every: final or (every > 0 and update % every < per_call)
      if due(options.log_every) or (options.eval_every > 0 and due(options.eval_every)):
        scalars = summarise(pending)
        pending = []
        scalars["env_steps"] = float(update * steps_per_update)
        scalars["train_s"] = clock.seconds
        scalars["elapsed_s"] = time.time() - started
        if evaluator and due(options.eval_every):
          # Every process evaluates its own copy of the params, so none sits
          # idle at the next collective long enough to hit a barrier timeout.
          scalars.update(evaluator(sharding.local_copy(state.train.params), update))
        writer.write(update, scalars)
        if not np.isfinite(scalars["loss"]):
          raise FloatingPointError(f"loss became {scalars['loss']} at update {update}; "
                                   "lower --learning_rate")
        bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in scalars.items()
                         if k in ("episode_return", "eval/episode_return",
                                  "eval/random_win_rate")}, refresh=False)
      if due(options.checkpoint_every):
        save_checkpoint(ckpt, config, state, update, options.flags_text)
      bar.update(per_call * steps_per_update)
      if stop:
        preempted_at = update
      if out_of_time or stop:
        break
  bar.close()
  writer.close()
  ckpt.close()
  if preempted_at is not None:
    raise preemption.Preempted(f"SIGTERM: saved at update {preempted_at}; run the same "
                               "command to continue")
  return state
