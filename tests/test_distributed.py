"""The pod code path on one machine: 2 processes x 2 CPU devices each, gloo
collectives over 127.0.0.1, against 1 process x 4 devices (same global
batch, same seed). Every process is a real launcher subprocess."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import jax
import pytest

import agents
from conftest import ROOT, assert_trees_close, run_launcher
from zerogo import checkpoint, distributed, metrics

AZ_ARGS = ["--env=tic_tac_toe", "--torso=mlp", "--num_channels=16", "--num_blocks=1",
           "--selfplay_batch_size=8", "--unroll_length=3", "--num_simulations=4",
           "--max_num_considered_actions=4", "--replay_rows=8", "--train_batch_size=16",
           "--sgd_steps_per_iteration=2", "--warmup_steps=1", "--eval_every=0",
           "--max_checkpoints=10", "--progress=false", "--nosummary"]
# Self-play PPO on tic-tac-toe with 2 vmapped seeds: snapshot pool, opponents
# drawn per global env index, env axis sharded behind the seed axis.
PPO_ARGS = ["--env=tic_tac_toe", "--num_envs=8", "--num_steps=8", f"--total_steps={8 * 8 * 4}",
            "--num_epochs=2", "--num_minibatches=2", "--hidden=16", "--num_seeds=2",
            "--snapshot_every=2", "--pool_size=2", "--log_every=1", "--eval_every=0",
            "--max_checkpoints=10", "--progress=false", "--nosummary"]


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _spawn(script: str, workdir, args, log_dir) -> list[subprocess.Popen]:
  """Two processes of launch/<script>, 2 CPU devices each, one coordinator."""
  port = _free_port()
  procs = []
  for pid in range(2):
    env = dict(os.environ, JAX_NUM_CPU_DEVICES="2", PYTHONUNBUFFERED="1")
    log = os.path.join(log_dir, f"{os.path.basename(str(workdir))}.{pid}.log")
    with open(log, "a") as out:
      proc = subprocess.Popen(
          [sys.executable, os.path.join(ROOT, "launch", script), f"--workdir={workdir}", *args,
           f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2",
           f"--process_id={pid}"], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    proc.log = log
    procs.append(proc)
  return procs


def _wait(procs, timeout: int = 600) -> list[str]:
  """Waits for both processes; returns their logs (stdout and stderr)."""
  deadline = time.time() + timeout
  codes = [p.wait(timeout=max(deadline - time.time(), 1)) for p in procs]
  logs = [open(p.log).read() for p in procs]
  assert codes == [0, 0], f"exit codes {codes}:\n" + "\n---\n".join(l[-2000:] for l in logs)
  return logs


def _params(path, **kwargs):
  return jax.device_get(agents.load_agent(str(path), **kwargs).params)


def _assert_close(a, b):
  assert_trees_close(a, b, rtol=1e-5, atol=1e-6)


def _iterations(workdir):
  return [r["iteration"] for r in metrics.read_jsonl(os.path.join(workdir, "metrics.jsonl"))]


POD_ITERATIONS = 16


@pytest.mark.slow(seconds=60)
def test_alphazero_two_processes_sigterm_restart_and_resume_on_one_device(tmp_path):
  """2 x 2 devices = 1 x 4 devices; SIGTERM to both processes saves and
  exits 0; the same command finishes the run exactly; the pod's checkpoint
  also continues in one process on one device (resharded on restore)."""
  # 16 iterations: SIGTERM goes out when the first is logged, and the pods
  # stopped at iteration 2 in the runs watched (2-core VM); the reference
  # saves every iteration, about 0.25 s a save.
  args = AZ_ARGS + [f"--num_iterations={POD_ITERATIONS}", "--num_simulations=8",
                    "--unroll_length=6"]
  ref = tmp_path / "ref"  # uninterrupted, one process, 4 devices, saves every iteration
  run_launcher("selfplay.py", f"--workdir={ref}", *args, "--checkpoint_every=1",
               "--max_checkpoints=100", devices=4)

  pod = tmp_path / "pod"
  procs = _spawn("selfplay.py", pod, args + ["--checkpoint_every=100"], tmp_path)
  deadline = time.time() + 600
  while not (pod / "metrics.jsonl").exists() or not _iterations(pod):
    assert time.time() < deadline and all(p.poll() is None for p in procs), \
        "the run ended before SIGTERM could be sent"
    time.sleep(0.02)
  for p in procs:
    p.send_signal(signal.SIGTERM)
  logs = _wait(procs)
  assert "Traceback" not in logs[0] + logs[1]
  steps = checkpoint.Checkpointer(str(pod / "checkpoints")).all_steps()
  assert len(steps) == 1 and steps[0] < POD_ITERATIONS, \
      "the run finished before SIGTERM arrived"
  stopped = steps[0]
  assert f"SIGTERM: saved at iteration {stopped}" in logs[0]
  assert _iterations(pod) == list(range(1, stopped + 1)), "process 0 alone writes metrics"
  assert (pod / "flags.txt").exists() and (pod / "tensorboard").is_dir()
  assert checkpoint.Checkpointer(str(pod / "checkpoints")).meta(stopped)["num_devices"] == 4
  _assert_close(_params(ref / "checkpoints" / str(stopped)), _params(pod))

  laptop = tmp_path / "laptop"  # the pod checkpoint, continued on one device
  shutil.copytree(pod, laptop)
  run_launcher("selfplay.py", f"--workdir={laptop}", *args, "--checkpoint_every=100", devices=1)
  _assert_close(_params(ref), _params(laptop))

  _wait(_spawn("selfplay.py", pod, args + ["--checkpoint_every=100"], tmp_path))  # same command
  assert _iterations(pod) == list(range(1, POD_ITERATIONS + 1))
  _assert_close(_params(ref), _params(pod))


@pytest.mark.slow(seconds=70)
def test_ppo_two_processes_match_one_and_resume_on_one_device(tmp_path):
  # Evaluation on: every process plays it on its local copy of the params.
  args = [a for a in PPO_ARGS if a != "--eval_every=0"] + [
      "--checkpoint_every=2", "--eval_every=2", "--eval_episodes=8", "--eval_uct_simulations=0"]
  ref = tmp_path / "ref"  # one process, 4 devices, 4 updates straight (saves 2 and 4)
  run_launcher("ppo.py", f"--workdir={ref}", *args, devices=4)
  pod = tmp_path / "pod"  # 2 processes x 2 devices, stopped after 2 updates
  logs = _wait(_spawn("ppo.py", pod, args + ["--stop_at=2"], tmp_path))
  assert "Traceback" not in logs[0] + logs[1]
  assert _iterations(pod) == [1, 2]
  rows = metrics.read_jsonl(str(pod / "metrics.jsonl"))
  assert 0 <= rows[1]["eval/random_win_rate/seed_1"] <= 1
  for s in range(2):
    _assert_close(_params(ref / "checkpoints" / "2", seed_index=s),
                  _params(pod / "checkpoints" / "2", seed_index=s))
  run_launcher("ppo.py", f"--workdir={pod}", *args, devices=1)
  assert _iterations(pod) == [1, 2, 3, 4]
  for s in range(2):
    _assert_close(_params(ref, seed_index=s), _params(pod, seed_index=s))


BAD_MULTI_PROCESS = {
    "missing": (dict(num_processes=2), "go together; missing --coordinator_address"),
    "process_id": (dict(coordinator_address="127.0.0.1:1", num_processes=2, process_id=2),
                   "--process_id=2 must be in [0, 2)"),
    "address": (dict(coordinator_address="localhost", num_processes=2, process_id=0),
                "must be HOST:PORT"),
    "zero": (dict(num_processes=0), "--num_processes must be at least 1"),
}


@pytest.mark.parametrize("case", sorted(BAD_MULTI_PROCESS))
def test_bad_multi_process_settings_are_one_sentence(case):
  # What every training launcher checks first (init_distributed), before JAX
  # starts; the launcher test below shows the sentence reaches the user.
  settings, message = BAD_MULTI_PROCESS[case]
  args = dict(dict.fromkeys(["coordinator_address", "num_processes", "process_id"]), **settings)
  with pytest.raises(distributed.DistributedError) as e:
    distributed.check_settings(**args)
  assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("script,case", [("selfplay.py", "process_id"), ("ppo.py", "address")])
def test_bad_multi_process_flags_fail_in_one_sentence(tmp_path, script, case):
  settings, message = BAD_MULTI_PROCESS[case]
  flags = [f"--{k}={v}" for k, v in settings.items()]
  proc = run_launcher(script, f"--workdir={tmp_path}", *flags, check=False, timeout=120)
  assert proc.returncode == 2 and message in proc.stderr
  assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_an_absent_coordinator_is_one_sentence_after_the_timeout(tmp_path):
  proc = run_launcher("selfplay.py", f"--workdir={tmp_path}", *AZ_ARGS,
                      f"--coordinator_address=127.0.0.1:{_free_port()}", "--num_processes=2",
                      "--process_id=1", "--distributed_timeout_s=3", check=False, timeout=120)
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert "could not join the other processes" in proc.stderr
  assert "Traceback" not in proc.stderr


def test_cluster_detection():
  assert distributed.detect_cluster({}) is None
  assert distributed.detect_cluster({"SLURM_STEP_NUM_TASKS": "1"}) is None  # one task
  assert distributed.detect_cluster({"SLURM_STEP_NUM_TASKS": "8"}) == "slurm"  # srun -n 8
  assert distributed.detect_cluster({"SLURM_NTASKS": "8"}) is None  # python in an sbatch script
  assert distributed.detect_cluster({"OMPI_COMM_WORLD_SIZE": "2"}) == "open mpi"
  assert distributed.detect_cluster({"TPU_WORKER_HOSTNAMES": "t1v-0"}) is None
  assert distributed.detect_cluster({"TPU_WORKER_HOSTNAMES": "t1v-0,t1v-1"}) == "cloud tpu"
  # No cluster and no flags: one process, nothing initialised.
  assert distributed.initialize() == 1
  assert distributed.initialize(num_processes=1) == 1
