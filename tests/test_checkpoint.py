"""Checkpoints: exact resume, kill -9 at any moment, clear errors."""

import dataclasses
import glob
import os
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import agents
from agents import alphazero
from zerogo import checkpoint, loop, metrics
from conftest import ROOT

TINY_FLAGS = ["--env=tic_tac_toe", "--seed=5", "--num_iterations=6",
              "--selfplay_batch_size=8", "--unroll_length=3", "--num_simulations=4",
              "--max_num_considered_actions=4", "--num_channels=8", "--num_blocks=1",
              "--replay_rows=8", "--train_batch_size=16", "--sgd_steps_per_iteration=2",
              "--warmup_steps=2", "--eval_every=0", "--progress=false", "--nosummary"]


def _options(workdir, **kw):
  return loop.RunOptions(workdir=str(workdir), eval_every=0, progress=False,
                         checkpoint_every=kw.pop("checkpoint_every", 2), **kw)


def _run(config, options):
  return loop.run(alphazero.AlphaZero(config), options)


def _assert_trees_equal(a, b):
  la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(la) == len(lb)
  for x, y in zip(la, lb):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.slow(seconds=40)
def test_exact_resume_n_equals_half_restart_half(tiny_config, tmp_path):
  straight = _run(tiny_config, _options(tmp_path / "a"))
  _run(tiny_config, _options(tmp_path / "b", stop_at=2))
  assert checkpoint.Checkpointer(str(tmp_path / "b" / "checkpoints")).latest_step() == 2
  resumed = _run(tiny_config, _options(tmp_path / "b"))
  assert int(resumed.iteration) == tiny_config.num_iterations
  _assert_trees_equal(straight.train, resumed.train)   # params and optimizer
  _assert_trees_equal(straight.actor, resumed.actor)   # games and replay too
  rows = metrics.read_jsonl(str(tmp_path / "b" / "metrics.jsonl"))
  assert [r["iteration"] for r in rows] == list(range(1, tiny_config.num_iterations + 1))


def test_resume_with_other_network_shape_is_a_clear_error(tiny_config, tmp_path):
  _run(dataclasses.replace(tiny_config, num_iterations=1),
       _options(tmp_path, flags_text="--num_channels=8"))
  wider = dataclasses.replace(tiny_config, num_channels=16)
  with pytest.raises(checkpoint.CheckpointError, match="--num_channels=8"):
    _run(wider, _options(tmp_path, flags_text="--num_channels=16"))
  # The refused run wrote nothing: flags.txt still resumes the stored run.
  assert (tmp_path / "flags.txt").read_text() == "--num_channels=8\n"
  other_game = dataclasses.replace(tiny_config, env_id="connect_four")
  with pytest.raises(checkpoint.CheckpointError, match="--env=tic_tac_toe"):
    _run(other_game, _options(tmp_path))


def test_corrupt_or_missing_checkpoint_is_a_clear_error(tiny_config, tmp_path):
  with pytest.raises(checkpoint.CheckpointError, match="does not exist"):
    agents.load_agent(str(tmp_path / "nowhere"))
  _run(dataclasses.replace(tiny_config, num_iterations=1), _options(tmp_path))
  agent = agents.load_agent(str(tmp_path))
  assert agent.env_id == "tic_tac_toe"
  # Truncate every data file of the params item.
  for path in glob.glob(str(tmp_path / "checkpoints" / "1" / "params" / "**" / "*"),
                        recursive=True):
    if os.path.isfile(path):
      open(path, "wb").close()
  with pytest.raises(checkpoint.CheckpointError, match="unreadable or incomplete"):
    agents.load_agent(str(tmp_path))


def _launch(workdir, *extra):
  env = dict(os.environ, JAX_NUM_CPU_DEVICES="1", PYTHONUNBUFFERED="1")
  return subprocess.Popen([sys.executable, os.path.join(ROOT, "launch", "selfplay.py"),
                           f"--workdir={workdir}", "--checkpoint_every=1", *TINY_FLAGS, *extra],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def reference_params(tmp_path_factory):
  """Final params of the uninterrupted 6-iteration subprocess run."""
  workdir = tmp_path_factory.mktemp("reference")
  reference = _launch(workdir)
  assert reference.wait(timeout=600) == 0, reference.stderr.read()
  return agents.load_agent(str(workdir)).params


@pytest.mark.slow(seconds=70)
def test_sigkill_mid_run_and_mid_save_loses_nothing(tmp_path, reference_params):
  victim_dir = tmp_path / "victim"
  victim = _launch(victim_dir)
  deadline = time.time() + 600
  while not os.path.isdir(victim_dir / "checkpoints" / "3") and time.time() < deadline:
    time.sleep(0.05)
  victim.send_signal(signal.SIGKILL)
  victim.wait()
  # Read-only: a writable orbax manager cleans temporary directories; once
  # (CI, 2026-12-04) the fake one made below vanished while it was copied.
  steps = checkpoint.Checkpointer(str(victim_dir / "checkpoints"), read_only=True).all_steps()
  assert steps and max(steps) < 6, "the run finished before it could be killed"
  # A save that was cut off leaves orbax's temporary directory behind; fake
  # one for the next step to prove a restart ignores it.
  last = max(steps)
  shutil.copytree(victim_dir / "checkpoints" / str(last),
                  victim_dir / "checkpoints" / f"{last + 1}.orbax-checkpoint-tmp-1234")
  os.remove(next(p for p in glob.glob(str(victim_dir / "checkpoints" /
                                           f"{last + 1}.orbax-checkpoint-tmp-1234" / "**" / "*"),
                                      recursive=True) if os.path.isfile(p)))

  restarted = _launch(victim_dir)
  assert restarted.wait(timeout=600) == 0, restarted.stderr.read()
  logged = [r["iteration"] for r in metrics.read_jsonl(str(victim_dir / "metrics.jsonl"))]
  assert logged == [1, 2, 3, 4, 5, 6], "iterations lost or logged twice"
  _assert_trees_equal(reference_params, agents.load_agent(str(victim_dir)).params)


# Iterations of the tiny run take about 2 ms each once compiled, so the
# SIGTERM victim is made long enough (about 6 s of iterations on an idle CPU)
# that the signal, sent as soon as the first iteration is logged, cannot
# arrive after the run's end however slowly the test process is scheduled.
SIGTERM_ITERATIONS = 3000


@pytest.mark.slow(seconds=45)
def test_sigterm_saves_at_the_iteration_boundary_exits_0_and_resumes_exactly(tmp_path):
  # A long run (so SIGTERM surely arrives mid-run) that neither the restart
  # nor the reference plays out: both stop 2 iterations after the saved one
  # (`--stop_at`, same schedule), which is where the exactness shows.
  long_run = [f"--num_iterations={SIGTERM_ITERATIONS}", "--checkpoint_every=100000"]
  victim_dir = tmp_path / "victim"
  victim = _launch(victim_dir, *long_run)  # saves only on SIGTERM and at the end
  deadline = time.time() + 600
  metrics_path = victim_dir / "metrics.jsonl"
  while (not metrics_path.exists() or not metrics_path.read_text().strip()) \
      and time.time() < deadline:
    time.sleep(0.05)
  victim.send_signal(signal.SIGTERM)
  assert victim.wait(timeout=600) == 0
  stderr = victim.stderr.read()
  assert "SIGTERM: saved at iteration" in stderr and "Traceback" not in stderr
  # Read-only: a writable orbax manager cleans temporary directories; once
  # (CI, 2026-12-04) the fake one made below vanished while it was copied.
  steps = checkpoint.Checkpointer(str(victim_dir / "checkpoints"), read_only=True).all_steps()
  assert len(steps) == 1 and steps[0] < SIGTERM_ITERATIONS, \
      "the run finished before SIGTERM arrived"
  assert f"SIGTERM: saved at iteration {steps[0]};" in stderr
  logged = [r["iteration"] for r in metrics.read_jsonl(str(metrics_path))]
  assert logged == list(range(1, steps[0] + 1))

  stop = [f"--stop_at={steps[0] + 2}"]
  restarted = _launch(victim_dir, *long_run, *stop)
  assert restarted.wait(timeout=600) == 0, restarted.stderr.read()
  logged = [r["iteration"] for r in metrics.read_jsonl(str(metrics_path))]
  assert logged == list(range(1, steps[0] + 3))
  reference = _launch(tmp_path / "reference", *long_run, *stop)  # never interrupted
  assert reference.wait(timeout=600) == 0, reference.stderr.read()
  assert checkpoint.Checkpointer(str(tmp_path / "reference" / "checkpoints"),
                                 read_only=True).all_steps() == [steps[0] + 2]
  _assert_trees_equal(agents.load_agent(str(tmp_path / "reference")).params,
                      agents.load_agent(str(victim_dir)).params)


class _DivergesAt:
  """A trainer whose loss becomes NaN at update `at` (everything else real)."""

  def __init__(self, trainer, at: int):
    self._trainer, self._at = trainer, at

  def __getattr__(self, name):
    return getattr(self._trainer, name)

  def step(self, state):
    state, metrics = self._trainer.step(state)
    if self._trainer.updates_done(state) >= self._at:
      metrics = dict(metrics, loss=metrics["loss"] * float("nan"))
    return state, metrics


def test_non_finite_loss_stops_before_saving_anything_of_it(tiny_config, tmp_path):
  az = alphazero.AlphaZero(tiny_config)
  with pytest.raises(loop.NonFiniteLoss, match="the loss became nan at iteration 3; nothing"):
    loop.run(_DivergesAt(az, 3), _options(tmp_path, checkpoint_every=1))
  # The last good checkpoint is the latest; the diverged iteration left no trace.
  assert checkpoint.Checkpointer(str(tmp_path / "checkpoints")).latest_step() == 2
  rows = metrics.read_jsonl(str(tmp_path / "metrics.jsonl"))
  assert [r["iteration"] for r in rows] == [1, 2]
  assert all(np.isfinite(v) for r in rows for v in r.values() if v is not None)
  assert all(np.isfinite(np.asarray(x)).all()
             for x in jax.tree.leaves(agents.load_agent(str(tmp_path)).params))


def test_divergence_is_one_sentence_from_the_launcher(tmp_path):
  flags = [f for f in TINY_FLAGS if not f.startswith("--num_iterations")]
  proc = subprocess.run([sys.executable, os.path.join(ROOT, "launch", "selfplay.py"),
                         f"--workdir={tmp_path}", *flags, "--num_iterations=4",
                         "--learning_rate=1e30", "--checkpoint_every=1"],
                        capture_output=True, text=True, timeout=600,
                        env=dict(os.environ, JAX_NUM_CPU_DEVICES="1"))
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert "Traceback" not in proc.stderr and "error: the loss became" in proc.stderr
  latest = checkpoint.Checkpointer(str(tmp_path / "checkpoints"), read_only=True).latest_step()
  rows = metrics.read_jsonl(str(tmp_path / "metrics.jsonl"))
  assert latest is None or latest == len(rows)   # saved iterations are the logged ones
  for line in open(tmp_path / "metrics.jsonl"):  # strict JSON: no NaN tokens
    assert "NaN" not in line and "Infinity" not in line


def test_a_second_run_on_a_live_workdir_is_refused(tiny_config, tmp_path):
  with loop.workdir_lock(str(tmp_path)):   # as a running process holds it
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "launch", "selfplay.py"),
                           f"--workdir={tmp_path}", *TINY_FLAGS],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, JAX_NUM_CPU_DEVICES="1"))
  assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
  assert f"is in use by a running training process (pid {os.getpid()})" in proc.stderr
  assert not (tmp_path / "flags.txt").exists() and not (tmp_path / "metrics.jsonl").exists()
  # Released with its holder: the same workdir trains now.
  loop.run(alphazero.AlphaZero(dataclasses.replace(tiny_config, num_iterations=1)),
           _options(tmp_path))
  assert checkpoint.Checkpointer(str(tmp_path / "checkpoints")).latest_step() == 1


def test_a_file_as_workdir_is_one_sentence(tmp_path):
  workdir = tmp_path / "w"
  workdir.write_text("not a directory")
  proc = subprocess.run([sys.executable, os.path.join(ROOT, "launch", "selfplay.py"),
                         f"--workdir={workdir}", *TINY_FLAGS],
                        capture_output=True, text=True, timeout=300,
                        env=dict(os.environ, JAX_NUM_CPU_DEVICES="1"))
  assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
  assert "is a file, not a directory" in proc.stderr
  assert workdir.read_text() == "not a directory"


def _tensorboard_steps(logdir) -> dict:
  """tag -> steps as TensorBoard shows them: event files in order, each
  purge marker (a file_version event at step T) hiding earlier steps >= T."""
  import struct
  from tensorboardX.proto import event_pb2
  shown = {}
  for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
    data = open(path, "rb").read()
    at = 0
    while at < len(data):
      (length,) = struct.unpack("<Q", data[at:at + 8])
      event = event_pb2.Event.FromString(data[at + 12:at + 12 + length])
      at += 12 + length + 4
      if event.file_version and event.step:
        shown = {tag: [s for s in steps if s < event.step] for tag, steps in shown.items()}
      for value in event.summary.value:
        shown.setdefault(value.tag, []).append(event.step)
  return shown


def test_tensorboard_does_not_repeat_steps_after_a_resume(tmp_path):
  writer = metrics.MetricsWriter(str(tmp_path))
  for step in range(1, 6):          # a process killed after logging 5 steps
    writer.write(step, {"loss": 1.0 / step})
  writer.close()
  time.sleep(1.1)                   # event files are named by the second
  writer = metrics.MetricsWriter(str(tmp_path), resume_from=3)  # last checkpoint: 3
  for step in range(4, 7):
    writer.write(step, {"loss": 0.5})
  writer.close()
  assert _tensorboard_steps(tmp_path / "tensorboard")["loss"] == [1, 2, 3, 4, 5, 6]
  assert [r["iteration"] for r in metrics.read_jsonl(tmp_path / "metrics.jsonl")] == [
      1, 2, 3, 4, 5, 6]


def test_sigterm_during_startup_and_compilation_exits_0_and_resumes(tmp_path):
  # The lock file appears before the initial state is built and the first
  # iteration compiles: SIGTERM there (before the loop's own watch) used to
  # kill the process with status 143.
  # --stop_at rather than --num_iterations=2: the program of the other
  # tests' 6-iteration runs, compiled once for the session (cache).
  victim = _launch(tmp_path, "--stop_at=2")
  deadline = time.time() + 300
  while not (tmp_path / ".lock.0").exists() and time.time() < deadline:
    time.sleep(0.01)
  victim.send_signal(signal.SIGTERM)
  assert victim.wait(timeout=300) == 0
  stderr = victim.stderr.read()
  assert "Traceback" not in stderr
  assert "run the same command to continue" in stderr.strip().splitlines()[-1], stderr[-2000:]
  restarted = _launch(tmp_path, "--stop_at=2")
  assert restarted.wait(timeout=300) == 0, restarted.stderr.read()
  assert [r["iteration"] for r in metrics.read_jsonl(str(tmp_path / "metrics.jsonl"))] == [1, 2]


@pytest.mark.slow(seconds=90)
def test_disk_full_is_one_sentence_keeps_checkpoints_and_resumes(tmp_path):
  small = tmp_path / "small"
  small.mkdir()
  if os.geteuid() != 0:
    pytest.skip("mounting a small tmpfs needs root")
  if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(small)],
                    capture_output=True).returncode != 0:
    pytest.skip("this machine does not allow mounting a tmpfs")
  try:
    workdir = small / "run"
    tiny = ["--num_channels=4", "--selfplay_batch_size=4", "--train_batch_size=4",
            "--replay_rows=4", "--num_simulations=2", "--max_num_considered_actions=2"]
    full = _launch(workdir, "--num_iterations=30", *tiny)
    assert full.wait(timeout=600) == 2
    stderr = full.stderr.read()
    assert "Traceback" not in stderr, stderr[-3000:]
    assert stderr.strip().splitlines()[-1].startswith("error: No space left on device: "), \
        stderr[-3000:]
    kept = checkpoint.Checkpointer(str(workdir / "checkpoints"), read_only=True).all_steps()
    assert kept, "no checkpoint fitted: make the tmpfs larger"
    subprocess.run(["mount", "-o", "remount,size=16m", str(small)], check=True)
    resumed = _launch(workdir, f"--num_iterations={max(kept) + 1}", *tiny)
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()[-3000:]
    logged = [r["iteration"] for r in metrics.read_jsonl(str(workdir / "metrics.jsonl"))]
    assert logged == list(range(1, max(kept) + 2))
  finally:
    subprocess.run(["umount", "-l", str(small)], capture_output=True)
