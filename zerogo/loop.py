"""The one host loop: drives any `zerogo.trainer.Trainer` from its workdir.

Resume or init, progress bar with ETA, metrics.jsonl + TensorBoard,
periodic evaluation, SIGTERM, `time_budget_s`, `stop_at`, checkpoints. A
non-finite loss stops the run before anything of that update is written or
saved, so the latest checkpoint stays the last good one. The loop only
moves a few scalars per call to the host.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import time

import jax
import numpy as np

from zerogo import checkpoint, metrics as metrics_lib, preemption, sharding
from zerogo.config import RunOptions  # also the public name loop.RunOptions


class NonFiniteLoss(ValueError):
  """Training diverged; nothing of the diverged update was saved."""


@contextlib.contextmanager
def workdir_lock(workdir: str):
  """Holds `<workdir>/.lock.<process index>` for the run: a second run on a
  live workdir is refused in one sentence instead of interleaving saves and
  metrics with the first. Each process of a multi-process run locks its own
  index, so a job's processes never block each other while a second job's
  process i collides with the first job's. The OS drops the lock when the
  holder dies (kill -9 included), so a resume never finds a stale lock."""
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise checkpoint.CheckpointError(f"--workdir={workdir} is a file, not a directory; "
                                     "choose another path")
  os.makedirs(workdir, exist_ok=True)
  handle = open(os.path.join(workdir, f".lock.{jax.process_index()}"), "a+")
  try:
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    handle.seek(0)
    pid = handle.read().strip()
    handle.close()
    raise checkpoint.CheckpointError(
        f"{workdir} is in use by a running training process{f' (pid {pid})' if pid else ''}; "
        "wait for it to finish or use another --workdir") from None
  handle.truncate(0)
  handle.write(str(os.getpid()))
  handle.flush()
  try:
    yield
  finally:
    handle.close()


def save(ckpt: checkpoint.Checkpointer, trainer, state, updates_done: int,
         flags_text: str = "") -> None:
  """Saves the run state, its params and what rebuilds the network: the
  config and the algorithm name `agents.load_agent` dispatches on."""
  meta = {"algorithm": trainer.algorithm, "config": dataclasses.asdict(trainer.config),
          "iteration": updates_done, "flags": flags_text,
          "jax_version": jax.__version__, "num_devices": jax.device_count()}
  ckpt.save(updates_done, params=trainer.params(state), state=state, meta=meta)


def _postfix(scalars: dict) -> dict:
  shown = ("loss", "episode_return", "eval/episode_return", "eval/random_win_rate",
           "eval/uct_win_rate")
  return {k.split("/")[-1]: f"{v:.3g}" for k, v in scalars.items() if k in shown}


def run(trainer, options: RunOptions):
  """Trains until `trainer.num_updates`, resuming from the workdir's latest
  checkpoint if there is one. Returns the final run state. Raises
  `preemption.Preempted` after saving on SIGTERM, `NonFiniteLoss` when the
  loss diverges (nothing of that update saved)."""
  workdir = os.path.abspath(options.workdir)
  with workdir_lock(workdir):
    ckpt = checkpoint.Checkpointer(checkpoint.checkpoint_dir(workdir),
                                   max_to_keep=options.max_checkpoints)
    state = checkpoint.resume_or_init(ckpt, algorithm=trainer.algorithm, config=trainer.config,
                                      init=trainer.init, abstract_state=trainer.abstract_state)
    start = trainer.updates_done(state)
    total = trainer.num_updates
    last = total if options.stop_at is None else min(options.stop_at, total)
    per_call = trainer.updates_per_step
    if (last - start) % per_call:
      ckpt.close()
      raise ValueError(f"--updates_per_call={per_call} must divide the updates left "
                       f"({last - start})")
    # Written only now, once the workdir accepted this run: a refused resume
    # leaves the flags.txt that resumes the stored run.
    if options.flags_text and jax.process_index() == 0:
      with open(os.path.join(workdir, "flags.txt"), "w") as f:
        f.write(options.flags_text + "\n")

    writer = metrics_lib.MetricsWriter(workdir, resume_from=start)
    evaluate = (trainer.evaluator(games=options.eval_games,
                                  uct_simulations=options.eval_uct_simulations)
                if options.eval_every > 0 else None)
    scale = trainer.progress_per_update
    bar = metrics_lib.progress_bar(total * scale, initial=start * scale,
                                   desc=f"{trainer.algorithm} {trainer.config.env_id}",
                                   enabled=options.progress, unit=trainer.progress_unit)
    started, pending = time.time(), []
    clock = metrics_lib.TrainClock(writer.previous_train_s, options.time_budget_s)
    preempted_at = None
    try:
      with preemption.SigtermWatch() as watch:
        if watch.poll()[0]:  # SIGTERM during start-up or the initial compilation
          raise preemption.Preempted(
              f"SIGTERM before the first {trainer.update_name} of this process: nothing new "
              f"to save (resumes from {trainer.update_name} {start}); run the same command "
              "to continue")
        for done in range(start + per_call, last + 1, per_call):
          if clock.out_of_time:  # a resumed run whose budget is already spent
            break
          clock.start()
          state, chunk = trainer.step(state)
          chunk = jax.device_get(chunk)
          clock.stop()
          if not np.isfinite(chunk["loss"]).all():
            raise NonFiniteLoss(
                f"the loss became {np.asarray(chunk['loss']).ravel()[-1]} at "
                f"{trainer.update_name} {done}; "
                "nothing of it was saved (the latest checkpoint is the last good one): lower "
                "--learning_rate and run again with the same --workdir")
          pending.append(chunk)
          # Agreed over processes: every process must stop at the same update.
          stop, out_of_time = watch.poll(clock.out_of_time)
          final = done == last or out_of_time or stop

          def due(every: int) -> bool:
            return final or (every > 0 and done % every < per_call)

          if due(options.log_every) or (evaluate and due(options.eval_every)):
            scalars = trainer.summarise(pending, done)
            pending = []
            scalars.update(train_s=clock.seconds, elapsed_s=time.time() - started)
            if evaluate and due(options.eval_every):
              # Every process evaluates its own copy of the params, so none sits
              # idle at the next collective long enough to hit a barrier timeout.
              scalars.update(evaluate(sharding.local_copy(trainer.params(state)), done))
            writer.write(done, scalars)
            bar.set_postfix(_postfix(scalars), refresh=False)
          if due(options.checkpoint_every):
            save(ckpt, trainer, state, done, options.flags_text)
          bar.update(per_call * scale)
          if stop:
            preempted_at = done
          if out_of_time or stop:
            break
    finally:
      bar.close()
      writer.close()
      ckpt.close()
    if preempted_at is not None:
      raise preemption.Preempted(f"SIGTERM: saved at {trainer.update_name} {preempted_at}; "
                                 "run the same command to continue")
    return state
