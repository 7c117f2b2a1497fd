"""The host loop of an AlphaZero run: resume, iterate, evaluate, save.

Library code (no flags): `launch/selfplay.py` builds the config and options
and calls `run`. The loop only moves a few scalars per iteration to the host.
"""

from __future__ import annotations

import dataclasses
import os
import time

import jax
import numpy as np

from agents import alphazero, baselines
from zerogo import arena, checkpoint, metrics as metrics_lib, preemption, sharding
from zerogo.agent import search_agent

ALGORITHM = "alphazero"


@dataclasses.dataclass(frozen=True)
class RunOptions:
  """How a run is driven (not what it learns)."""
  workdir: str
  checkpoint_every: int = 10
  max_checkpoints: int = 3
  eval_every: int = 10                # 0 disables periodic evaluation
  eval_games: int = 64
  eval_uct_simulations: int = 100     # 0 skips the UCT opponent
  progress: bool = True
  stop_at: int | None = None          # save and stop after this iteration
  time_budget_s: float | None = None  # save and stop once training took this long
  flags_text: str = ""                # resolved flags, stored with checkpoints


def save_checkpoint(ckpt: checkpoint.Checkpointer, config: alphazero.AlphaZeroConfig,
                    state: alphazero.RunState, iteration: int, flags_text: str = "") -> None:
  """Saves params, the whole run state and what rebuilds the network."""
  checkpoint.save_run(ckpt, algorithm=ALGORITHM, config=config, state=state,
                      params=state.train.params, iteration=iteration, flags_text=flags_text)


class Evaluator:
  """Win rates of the current params against fixed opponents."""

  def __init__(self, az: alphazero.AlphaZero, options: RunOptions):
    env, config = az.env, az.config
    self.agent = search_agent(env, az.network, None,
                              num_simulations=config.num_simulations,
                              search=config.search,
                              max_num_considered_actions=config.max_num_considered_actions)
    self.opponents = [baselines.random_agent(env)]
    if options.eval_uct_simulations > 0:
      self.opponents.append(baselines.uct_agent(env, options.eval_uct_simulations))
    self.num_games = options.eval_games
    self.seed = config.seed

  def __call__(self, params, iteration: int) -> dict:
    agent = dataclasses.replace(self.agent, params=params)
    out = {}
    for i, opponent in enumerate(self.opponents):
      key = jax.random.fold_in(jax.random.PRNGKey(self.seed + 7919 * (i + 1)), iteration)
      result = arena.play_match(agent, opponent, key, self.num_games).summary()
      name = opponent.name.split(":")[0]
      out[f"eval/{name}_win_rate"] = result["wins"] / result["games"]
      out[f"eval/{name}_score"] = result["score"]
    return out


def run(config: alphazero.AlphaZeroConfig, options: RunOptions) -> alphazero.RunState:
  """Trains until `config.num_iterations`, resuming from the workdir's latest
  checkpoint if there is one. Returns the final RunState."""
  az = alphazero.AlphaZero(config)
  workdir = os.path.abspath(options.workdir)
  ckpt = checkpoint.Checkpointer(checkpoint.checkpoint_dir(workdir),
                                 max_to_keep=options.max_checkpoints)
  state = checkpoint.resume_or_init(ckpt, algorithm=ALGORITHM, config=config,
                                    init=az.init, abstract_state=az.abstract_state)
  start = int(jax.device_get(state.iteration))

  writer = metrics_lib.MetricsWriter(workdir, resume_from=start)
  evaluator = Evaluator(az, options) if options.eval_every > 0 else None

  def save(state, iteration):
    save_checkpoint(ckpt, config, state, iteration, options.flags_text)

  bar = metrics_lib.progress_bar(config.num_iterations, initial=start,
                                 desc=f"alphazero {config.env_id}") if options.progress else None
  started = time.time()
  clock = metrics_lib.TrainClock(writer.previous_train_s, options.time_budget_s)
  last = config.num_iterations if options.stop_at is None else min(
      options.stop_at, config.num_iterations)
  preempted_at = None
  with preemption.SigtermWatch() as watch:
    for iteration in range(start + 1, last + 1):
      if clock.out_of_time:  # a resumed run whose budget is already spent
        break
      clock.start()
      state, step_metrics = az.step(state)
      scalars = {k: float(v) for k, v in jax.device_get(step_metrics).items()}
      scalars["train_s"] = clock.stop()
      scalars["elapsed_s"] = time.time() - started
      # Agreed over processes: every process must stop at the same iteration.
      stop, out_of_time = watch.poll(clock.out_of_time)
      final = iteration == last or out_of_time
      if evaluator and (iteration % options.eval_every == 0 or final):
        # Every process evaluates its own copy of the params, so none sits idle
        # at the next collective long enough to hit a barrier timeout.
        scalars.update(evaluator(sharding.local_copy(state.train.params), iteration))
      writer.write(iteration, scalars)
      if iteration % options.checkpoint_every == 0 or final or stop:
        save(state, iteration)
      if stop:
        preempted_at = iteration
        break
      if bar is not None:
        bar.update(1)
        shown = {k.split("/")[-1]: f"{v:.3g}" for k, v in scalars.items()
                 if k in ("loss", "eval/random_win_rate", "eval/uct_win_rate")}
        bar.set_postfix(shown, refresh=False)
      if not np.isfinite(scalars["loss"]):
        raise FloatingPointError(f"loss became {scalars['loss']} at iteration {iteration}; "
                                 "lower --learning_rate")
      if out_of_time:
        break
  if bar is not None:
    bar.close()
  writer.close()
  ckpt.close()
  if preempted_at is not None:
    raise preemption.Preempted(f"SIGTERM: saved at iteration {preempted_at}; run the same "
                               "command to continue")
  return state
