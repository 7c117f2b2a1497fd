"""Test set-up: 4 forced CPU devices, so data parallelism is exercised.

The variable must be set before JAX initialises; single-device runs in the
tests build their own 1-device mesh from `jax.devices()[:1]`.
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

os.environ.setdefault("JAX_NUM_CPU_DEVICES", "4")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# One persistent XLA compilation cache for the whole session, shared by the
# pytest-xdist workers and every launcher subprocess (they inherit the
# variable): most tests compile the same small programs again in fresh
# processes, and a cache hit turns a ~20 s compile into a file read. The
# cache is keyed by the program, backend and flags, so it changes no result;
# it lives in a fresh directory removed when the session ends.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  _cache_dir = tempfile.mkdtemp(prefix="zerogo-tests-xla-cache-")
  os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache_dir
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
  atexit.register(shutil.rmtree, _cache_dir, True)
# Most tests compile far more than they run (tiny networks, a few
# iterations), so XLA's backend optimisations cost more than they save:
# without them compile-bound test files take 11-38% less time (2-core VM,
# 2026-12-07). Tests whose time is spent running compiled code (learning to
# a bar: 2-2.5x slower without them) ask for the full optimiser with
# `@pytest.mark.optimized`, in process and in the launchers they start.
# The setting changes speed, not semantics; every comparison a test makes
# (1 vs 4 devices, resumed vs straight) has both sides compiled alike.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
# Compile time again: XLA's CPU fusion emitters (the default) take longer to
# compile than the older loop emitter, and those tests compile far more than
# they run: test_alphazero.py + test_envs.py 214 s -> 160 s, a MuZero
# 4-device test 21 s -> 17 s (fresh compilation caches, 2-core VM,
# 2026-12-07). Code compiled without them runs 7-12% slower (two learning
# tests), so the `optimized` launchers go without this flag (the fixture
# below). A code generator choice, like the optimisation level: no
# comparison a test makes mixes the two.
# XLA aborts on a flag it does not know, so a jaxlib without this one (the
# pin allows other 0.10 releases) is asked first: once per session where it
# knows it (the pytest-xdist workers inherit the setting), else once per process.
FAST_COMPILE_XLA_FLAG = "--xla_cpu_use_fusion_emitters=false"
if "xla_cpu_use_fusion_emitters" not in os.environ.get("XLA_FLAGS", ""):
  _flags = f"{os.environ.get('XLA_FLAGS', '')} {FAST_COMPILE_XLA_FLAG}".strip()
  if subprocess.run([sys.executable, "-c", "import jax; jax.devices()"], capture_output=True,
                    env=dict(os.environ, XLA_FLAGS=_flags), timeout=300).returncode == 0:
    os.environ["XLA_FLAGS"] = _flags

import jax  # noqa: E402
import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))


def assert_trees_close(a, b, **tolerances):
  """Leaf-by-leaf `np.testing.assert_allclose` of two pytrees of one structure."""
  import numpy as np
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), **tolerances)


def one_device_mesh():
  return jax.make_mesh((1,), ("data",), devices=jax.devices()[:1])


def step_on_one_and_four_devices(trainer_class, config, steps: int, min_moved: float):
  """(state, metrics) after `steps` steps of `trainer_class(config)` on one
  device and on all four (the test process has 4 CPU devices), having
  checked that both give the same parameters and loss, and that the
  parameters moved by more than `min_moved` (not a comparison of inits)."""
  import numpy as np
  one = trainer_class(config, mesh=one_device_mesh())
  four = trainer_class(config)
  assert four.mesh.size == 4
  s1, s4 = one.init(), four.init()
  init = jax.device_get(s1.train.params)  # step donates the state
  for _ in range(steps):
    s1, m1 = one.step(s1)
    s4, m4 = four.step(s4)
  assert_trees_close(s1.train.params, s4.train.params, rtol=1e-4, atol=1e-5)
  # Step metrics carry the trainer contract's leading update axis [1].
  np.testing.assert_allclose(float(m1["loss"][0]), float(m4["loss"][0]), rtol=1e-4)
  moved = max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in
              zip(jax.tree.leaves(init), jax.tree.leaves(s1.train.params)))
  assert moved > min_moved
  return (s1, m1), (s4, m4)


def run_launcher(script: str, *args: str, devices: int = 1, timeout: int = 600,
                 check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
  """Runs launch/<script> in a fresh process with `devices` CPU devices."""
  env = dict(os.environ, JAX_NUM_CPU_DEVICES=str(devices), PYTHONUNBUFFERED="1")
  proc = subprocess.run([sys.executable, os.path.join(ROOT, "launch", script), *args],
                        capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT,
                        input=stdin)
  if check and proc.returncode != 0:
    raise AssertionError(f"{script} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
  return proc


@pytest.fixture
def tiny_config():
  from agents.alphazero import AlphaZeroConfig
  return AlphaZeroConfig(env_id="tic_tac_toe", seed=3, num_iterations=4,
                         selfplay_batch_size=8, unroll_length=3, num_simulations=4,
                         max_num_considered_actions=4, num_channels=8, num_blocks=1,
                         replay_rows=8, train_batch_size=16, sgd_steps_per_iteration=2,
                         warmup_steps=2)


def untrained_checkpoint(workdir: str, env_id: str, **overrides) -> str:
  """Writes an iteration-0 AlphaZero checkpoint (random network) to
  `workdir` without compiling a training iteration; returns `workdir`."""
  from agents import alphazero
  from zerogo import checkpoint, loop
  config = alphazero.AlphaZeroConfig(**{**dict(
      env_id=env_id, selfplay_batch_size=4, replay_rows=2, train_batch_size=4,
      num_channels=8, num_blocks=1, num_simulations=4, max_num_considered_actions=4),
      **overrides})
  az = alphazero.AlphaZero(config, one_device_mesh())
  ckpt = checkpoint.Checkpointer(checkpoint.checkpoint_dir(workdir))
  loop.save(ckpt, az, az.init(), 0)
  ckpt.close()
  return workdir


@pytest.fixture(scope="module")
def go_engine(tmp_path_factory):
  """(workdir of an untrained go_9x9 checkpoint, a GTP engine playing it
  with 2 simulations per move)."""
  from agents import load_agent
  from zerogo import gtp
  workdir = untrained_checkpoint(str(tmp_path_factory.mktemp("go")), "go_9x9")
  return workdir, gtp.GtpEngine(load_agent(workdir, num_simulations=2))


@pytest.fixture(autouse=True)
def _xla_optimizations(request, monkeypatch):
  """Full XLA optimisation for tests marked `optimized` (see the top of this
  file), for their own compiles and for the launchers they start."""
  if request.node.get_closest_marker("optimized") is None:
    yield
    return
  before = jax.config.read("jax_disable_most_optimizations")
  monkeypatch.setenv("JAX_DISABLE_MOST_OPTIMIZATIONS", "0")
  # XLA reads XLA_FLAGS once per process: only the launchers drop it.
  monkeypatch.setenv("XLA_FLAGS",
                     os.environ.get("XLA_FLAGS", "").replace(FAST_COMPILE_XLA_FLAG, "").strip())
  jax.config.update("jax_disable_most_optimizations", False)
  try:
    yield
  finally:
    jax.config.update("jax_disable_most_optimizations", before)


def pytest_collection_modifyitems(config, items):
  """Slow tests first, longest (`@pytest.mark.slow(seconds=...)`, measured
  alone on 2 cores) first: with pyproject's `-n 2 --maxschedchunk=1` the
  two workers then end together instead of one finishing a three-minute
  test alone at the end. The sort is stable: other tests keep their order."""
  def key(item):
    slow = item.get_closest_marker("slow")
    return (0, -slow.kwargs.get("seconds", 60)) if slow else (1, 0)
  items.sort(key=key)
