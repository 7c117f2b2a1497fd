"""The trainer contract every algorithm implements, and the pieces of its
skeleton written once.

A trainer owns one compiled, data-parallel program (`step`) that advances a
run state by `updates_per_step` updates (AlphaZero: iterations; PPO:
updates), and says how the host loop should read what comes out of it. The
host loop (`zerogo.loop.run`) drives any trainer: resume or init, progress,
metrics, evaluation, SIGTERM, time budget, checkpoints. `make_train` runs
one in memory, without any of that (tests, sweeps, notebooks).

A new algorithm is one module in `agents/` with a frozen config dataclass
(fields from `zerogo.config.field`) and a class satisfying `Trainer`, whose
step is a `CompiledStep`; plus a thin launcher.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Protocol, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from zerogo import sharding


class Trainer(Protocol):
  """What the host loop, checkpoints and `load_agent` need of an algorithm."""

  algorithm: ClassVar[str]        # stored in checkpoints; load_agent dispatches on it
  config: Any                     # frozen dataclass; its `shape` fields fix checkpoints
  mesh: jax.sharding.Mesh
  env: Any
  network: Any
  update_name: str                # what one update is called ("iteration", "update")
  updates_per_step: int           # updates one `step` call performs
  num_updates: int                # updates of the whole run
  progress_unit: str              # what the progress bar counts ("it", "step")
  progress_per_update: int        # progress units per update

  def init(self, key: jax.Array | None = None) -> Any:
    """The placed run state before the first update."""

  def step(self, state: Any) -> tuple[Any, dict]:
    """`updates_per_step` updates: one compiled program (a `CompiledStep`).
    Metric leaves have a leading axis of `updates_per_step`."""

  def abstract_state(self) -> Any:
    """Shapes, dtypes and shardings of the run state (checkpoint restores)."""

  def updates_done(self, state: Any) -> int:
    """Updates the state has been through."""

  def params(self, state: Any) -> Any:
    """What a checkpoint stores as `params` and evaluation plays with."""

  def summarise(self, chunks: Sequence[dict], updates_done: int) -> dict[str, float]:
    """Host scalars for metrics.jsonl from the host copies of several
    `step` metrics (concatenated on the update axis); must include `loss`."""

  def evaluator(self, *, games: int, uct_simulations: int) -> Callable[[Any, int], dict]:
    """`evaluate(params, updates_done) -> {"eval/...": float}`."""


class CompiledStep:
  """jit(shard_map(body)) with the state donated and a retrace guard.

  `body(state) -> (state, metrics)` runs once per device on its shard;
  metrics come back replicated. A second trace raises: one compilation
  per trainer, since a retrace in the hot loop is a bug (an input changed
  shape, dtype or sharding). Counted per instance, unlike
  `chex.assert_max_traces`, which counts per code location.

  `data`: arrays every call reads but never changes (a dataset of training
  positions), placed on the mesh with `data_specs` (default replicated) and
  passed as `body(state, data)`; kept out of the state, so checkpoints do
  not store them, and out of the program, so they are not compiled in.
  """

  def __init__(self, body: Callable, mesh, state_specs: Any, *, name: str,
               data: Any = None, data_specs: Any = sharding.REPLICATED):
    self.num_traces = 0

    def traced_once(state, *data_args):
      self.num_traces += 1
      if self.num_traces > 1:
        raise RuntimeError(f"the {name} step was traced again: an input changed shape, "
                           "dtype or sharding between calls")
      return body(state, *data_args)

    in_specs = (state_specs,) if data is None else (state_specs, data_specs)
    sharded = sharding.data_parallel(traced_once, mesh, in_specs=in_specs,
                                     out_specs=(state_specs, sharding.REPLICATED))
    self.jitted = jax.jit(sharded, donate_argnums=0)
    self._data = () if data is None else (data,)

  def __call__(self, state):
    return self.jitted(state, *self._data)


class ShardedTrainer:
  """What every trainer's run state shares: made by `initial_state(key)`
  (unsharded; key None = the config's seed), placed on the mesh field by
  field with `state_specs` (a run-state dataclass of PartitionSpecs)."""

  mesh: jax.sharding.Mesh
  state_specs: Any
  # The contract's bookkeeping, unless a trainer says otherwise.
  update_name = "iteration"
  updates_per_step = 1
  progress_unit = "step"
  progress_per_update = 1

  def bind(self, config: Any, mesh, validate: Callable[[Any, int], None],
           num_updates: int) -> None:
    """Every constructor's first step: the mesh (every device unless one is
    given), the config validated against its size (bad input fails here in
    one sentence, before any JAX work), the config and the run's length."""
    self.mesh = mesh if mesh is not None else sharding.make_mesh()
    validate(config, self.mesh.size)
    self.config = config
    self.num_updates = num_updates

  def initial_state(self, key: jax.Array | None) -> Any:
    raise NotImplementedError

  def init(self, key: jax.Array | None = None) -> Any:
    return sharding.place_by_field(self.initial_state(key), self.state_specs, self.mesh)

  def abstract_state(self) -> Any:
    """Shapes, dtypes and shardings of the run state (checkpoint restores)."""
    shapes = jax.eval_shape(lambda: self.initial_state(None))
    return sharding.abstract_by_field(shapes, self.state_specs, self.mesh)


def one_update(body: Callable) -> Callable:
  """A body doing one update per call, its metrics given the contract's
  leading update axis (of length 1)."""
  def wrapped(state, *data):
    state, metrics = body(state, *data)
    return state, jax.tree.map(lambda x: x[None], metrics)
  return wrapped


def concatenate(chunks: Sequence[Any]) -> Any:
  """Metric chunks (host or device), joined on their leading update axis."""
  return jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs]), *chunks)


def mean_scalars(chunks: Sequence[dict]) -> dict[str, float]:
  """Every metric averaged over the updates of `chunks`."""
  return {k: float(np.mean(v)) for k, v in concatenate(chunks).items()}


def make_train(trainer: Trainer) -> Callable:
  """`train(key=None) -> (state, metrics [num_updates, ...])`: the whole run
  in one call, without checkpoints or logging. Each `step` is one compiled
  program (compiled once); the loop over them is on the host."""
  if trainer.num_updates % trainer.updates_per_step:
    raise ValueError(f"updates_per_step={trainer.updates_per_step} must divide the "
                     f"{trainer.num_updates} updates")

  def train(key: jax.Array | None = None):
    state = trainer.init(key)
    chunks = []
    for _ in range(trainer.num_updates // trainer.updates_per_step):
      state, metrics = trainer.step(state)
      chunks.append(metrics)
    return state, jax.tree.map(lambda *xs: jnp.concatenate(xs), *chunks)

  return train
