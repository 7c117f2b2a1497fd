"""Data parallelism over every device, pmap-style, built on `jax.shard_map`.

One 1-D mesh named "data" spans all devices of all processes. Parameters and
optimizer state are replicated (`P()`); game batches and replay are split on
their leading axis (`P("data")`). Inside a sharded function, code sees its
device's slice and reduces across devices with `lax.psum(x, DATA)`.

Multi-process (see zerogo/distributed.py): the mesh's device order puts each
process's devices together, so a process holds a contiguous block of every
sharded axis. Per-game random keys fold in the *global* row index
(`global_index`: mesh position of the device, which encodes process and
local device, times rows per device, plus the row), so a run draws the same
numbers on 1 process x 4 devices as on 2 x 2 or 1 x 1. Host data enters as
global arrays through `jax.make_array_from_process_local_data` (`to_global`);
replicated state is read back through a process's own copy (`local_copy`),
never by gathering a global array.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

DATA = "data"
REPLICATED = P()
SHARDED = P(DATA)


def make_mesh() -> jax.sharding.Mesh:
  """A 1-D mesh over every device of every process, axis name "data"."""
  return jax.make_mesh((jax.device_count(),), (DATA,))


def data_parallel(fn: Callable, mesh, *, in_specs, out_specs) -> Callable:
  """`fn` runs once per device on its shard; like pmap, without the pmap."""
  # check_vma=False: mctx's loops mix replicated params with per-device data
  # in one carry, which the varying-axes type check would reject.
  return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=out_specs,
                       check_vma=False)


def global_index(local_size: int) -> jax.Array:
  """Global row indices [local_size] of this device's shard (in shard_map)."""
  return jax.lax.axis_index(DATA) * local_size + jnp.arange(local_size)


def global_keys(key: jax.Array, local_size: int) -> jax.Array:
  """One key per row of this device's shard [local_size], `key` with the
  row's *global* index folded in (in shard_map): the one way every
  algorithm keys per-game and per-env randomness, so the numbers do not
  depend on how many devices share the rows."""
  return jax.vmap(jax.random.fold_in, (None, 0))(key, global_index(local_size))


def total(x: jax.Array) -> jax.Array:
  """The sum of `x` over this shard and every other device's (in shard_map)."""
  return jax.lax.psum(x.sum(), DATA)


def replicate(tree: Any, mesh) -> Any:
  return jax.device_put(tree, NamedSharding(mesh, REPLICATED))


def shard(tree: Any, mesh) -> Any:
  """Splits every leaf of `tree` along its leading axis over the mesh."""
  return jax.device_put(tree, NamedSharding(mesh, SHARDED))


def check_divisible(name: str, value: int, num_devices: int) -> None:
  if value % num_devices:
    raise ValueError(
        f"--{name}={value} must be divisible by the number of devices "
        f"({num_devices}); pick a multiple of {num_devices}")


def _by_field(fn: Callable, state: Any, specs: Any, mesh) -> Any:
  """Applies fn(NamedSharding, subtree) to each field of a run-state
  dataclass, with that field's PartitionSpec from `specs` (same class)."""
  def one(spec, tree):
    if dataclasses.is_dataclass(spec):  # a nested run state (RLHF holds PPO's)
      return _by_field(fn, tree, spec, mesh)
    return fn(NamedSharding(mesh, spec), tree)
  return type(state)(**{name: one(getattr(specs, name), getattr(state, name))
                        for name in type(specs).__dataclass_fields__})


def to_global(tree: Any, named: NamedSharding) -> Any:
  """Host values, identical on every process, as global arrays with
  sharding `named`. Given the global shape, `jax.make_array_from_process_local_data`
  reads each local device's slice straight from the whole host array."""
  return jax.tree.map(lambda x: jax.make_array_from_process_local_data(
      named, np.asarray(x), np.shape(x)), tree)


def place_by_field(state: Any, specs: Any, mesh) -> Any:
  """Puts each field of a run state on the mesh with its own spec."""
  return _by_field(lambda named, tree: to_global(tree, named), state, specs, mesh)


def local_copy(tree: Any) -> Any:
  """This process's copy of replicated global arrays, on its first local
  device: for host-side work (evaluation, export) that must not start a
  collective over every process."""
  return jax.tree.map(lambda x: x.addressable_shards[0].data, tree)


def abstract_by_field(shapes: Any, specs: Any, mesh) -> Any:
  """ShapeDtypeStructs with each field's sharding (for checkpoint restores)."""
  return _by_field(lambda named, tree: jax.tree.map(
      lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=named), tree),
      shapes, specs, mesh)
