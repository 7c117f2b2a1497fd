"""Checkpoints: the only module that talks to orbax.

A checkpoint is an orbax step directory under `<workdir>/checkpoints` with
three items: `params` (what an Agent needs), `state` (everything a run needs
to continue bit for bit, flattened to named arrays) and `meta` (JSON: the
resolved config and the algorithm name, enough to rebuild the network
without the flagfile). Orbax writes each step into a temporary directory and
renames it when complete, so a process killed mid-save leaves the previous
checkpoint as the latest one.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

import jax
import orbax.checkpoint as ocp

from zerogo import config as config_lib


class CheckpointError(RuntimeError):
  """A checkpoint is missing, unreadable or does not fit this run."""


def _flatten(tree: Any) -> dict[str, Any]:
  leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
  return {jax.tree_util.keystr(path): leaf for path, leaf in leaves}


def _unflatten(template: Any, named: dict[str, Any]) -> Any:
  paths, treedef = jax.tree_util.tree_flatten_with_path(template)
  return jax.tree_util.tree_unflatten(
      treedef, [named[jax.tree_util.keystr(p)] for p, _ in paths])


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(os.path.abspath(workdir), "checkpoints")


@contextlib.contextmanager
def _quiet_absl(enabled: bool):
  """Orbax warns on every read-only open ("Given directory is read only",
  about a writable directory): noise for `load_agent` users."""
  logger = logging.getLogger("absl")
  level = logger.level
  if enabled:
    logger.setLevel(logging.ERROR)
  try:
    yield
  finally:
    logger.setLevel(level)


class Checkpointer:
  """Saves and restores run states under `<workdir>/checkpoints`."""

  def __init__(self, directory: str, *, max_to_keep: int = 3, read_only: bool = False):
    self.directory = os.path.abspath(directory)
    try:
      with _quiet_absl(read_only):
        options = ocp.CheckpointManagerOptions(
            max_to_keep=None if read_only else max_to_keep, create=not read_only,
            read_only=read_only,
            enable_async_checkpointing=False, cleanup_tmp_directories=not read_only)
        self._manager = ocp.CheckpointManager(
            self.directory, options=options,
            item_handlers={"params": ocp.StandardCheckpointHandler(),
                           "state": ocp.StandardCheckpointHandler(),
                           "meta": ocp.JsonCheckpointHandler()})
    except Exception as e:  # orbax raises many types for an unusable directory
      raise CheckpointError(f"cannot open checkpoints in {self.directory}: {e}") from e

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, *, params: Any, state: Any, meta: dict) -> None:
    self._manager.save(step, args=ocp.args.Composite(
        params=ocp.args.StandardSave(_flatten(params)),
        state=ocp.args.StandardSave(_flatten(state)),
        meta=ocp.args.JsonSave(meta)), force=True)
    self._manager.wait_until_finished()

  def meta(self, step: int) -> dict:
    return self._restore(step, meta=ocp.args.JsonRestore())["meta"]

  def restore_params(self, step: int, template: Any) -> Any:
    return self._restore_tree(step, "params", template)

  def restore_state(self, step: int, template: Any) -> Any:
    """`template`: a pytree of jax.ShapeDtypeStruct (with shardings)."""
    return self._restore_tree(step, "state", template)

  def _restore_tree(self, step: int, item: str, template: Any) -> Any:
    abstract = _flatten(template)
    stored = self._stored_shapes(step, item)
    missing = sorted(set(abstract) - set(stored))
    wrong = [k for k in abstract if k in stored and tuple(stored[k]) != tuple(abstract[k].shape)]
    if missing or wrong:
      name = (missing or wrong)[0]
      raise CheckpointError(
          f"checkpoint {self._step_dir(step)} does not fit this run: {item}{name} "
          + ("is missing" if missing else
             f"has shape {tuple(stored[name])}, expected {tuple(abstract[name].shape)}")
          + "; use the flags it was trained with or another --workdir")
    restored = self._restore(step, **{item: ocp.args.StandardRestore(abstract)})[item]
    return _unflatten(template, restored)

  def _stored_shapes(self, step: int, item: str) -> dict[str, tuple]:
    try:
      metadata = self._manager.item_metadata(step)[item]
      return {k: tuple(v.shape) for k, v in metadata.items()}
    except Exception as e:
      raise CheckpointError(
          f"checkpoint {self._step_dir(step)} is unreadable or incomplete ({type(e).__name__}); "
          "delete that step directory to fall back to an earlier one") from e

  def _restore(self, step: int, **items) -> Any:
    try:
      return self._manager.restore(step, args=ocp.args.Composite(**items))
    except CheckpointError:
      raise
    except Exception as e:
      raise CheckpointError(
          f"checkpoint {self._step_dir(step)} is unreadable or incomplete ({type(e).__name__}: "
          f"{str(e).splitlines()[0][:200] if str(e) else ''}); delete that step directory "
          "to fall back to an earlier one") from e

  def _step_dir(self, step: int) -> str:
    return os.path.join(self.directory, str(step))

  def close(self) -> None:
    self._manager.close()


def resolve(path: str) -> tuple[str, int]:
  """Maps a workdir, a checkpoints directory or a step directory to
  (checkpoints directory, step). Raises CheckpointError if there is none."""
  path = os.path.abspath(path)
  if not os.path.exists(path):
    raise CheckpointError(f"no checkpoint at {path}: the path does not exist")
  base = os.path.basename(path.rstrip("/"))
  if base.isdigit() and os.path.isdir(path):
    return os.path.dirname(path), int(base)
  directory = path if base == "checkpoints" else checkpoint_dir(path)
  if not os.path.isdir(directory):
    raise CheckpointError(f"no checkpoint at {path}: expected a workdir with "
                          "checkpoints/, a checkpoints directory or a step directory")
  step = Checkpointer(directory, read_only=True).latest_step()
  if step is None:
    raise CheckpointError(f"no complete checkpoint in {directory}")
  return directory, step


def restore_params_locally(directory: str, step: int, shapes: Any) -> Any:
  """A checkpoint's params on one local device, whatever mesh saved them: a
  checkpoint from many devices opens on a laptop. `shapes`: a pytree of
  jax.ShapeDtypeStruct (no sharding needed)."""
  local = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  template = jax.tree.map(
      lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=local), shapes)
  return Checkpointer(directory, read_only=True).restore_params(step, template)


# ---------------------------------------------------------------------------
# Runs: what every training loop saves and how it resumes.

def save_run(ckpt: Checkpointer, *, algorithm: str, config: Any, state: Any, params: Any,
             iteration: int, flags_text: str = "") -> None:
  """Saves a run's whole state plus what rebuilds its network: the config
  (a dataclass) and the algorithm name `agents.load_agent` dispatches on."""
  import dataclasses
  meta = {"algorithm": algorithm, "config": dataclasses.asdict(config),
          "iteration": iteration, "flags": flags_text,
          "jax_version": jax.__version__, "num_devices": jax.device_count()}
  ckpt.save(iteration, params=params, state=state, meta=meta)


def check_compatible(stored: dict, config: Any, algorithm: str, where: str) -> list[str]:
  """Raises CheckpointError if the stored run cannot continue as `config`
  (another algorithm, or a field marked `shape` in its config class differs);
  returns the names of other fields that differ (the run continues, but is
  no longer a bit-exact continuation)."""
  import dataclasses
  if stored.get("algorithm") != algorithm:
    raise CheckpointError(
        f"{where} holds a {stored.get('algorithm')!r} run, not a {algorithm} run; "
        "use another --workdir")
  current = dataclasses.asdict(config)
  # Fields added after a checkpoint was written take their defaults.
  saved = {**dataclasses.asdict(type(config)()), **stored["config"]}
  for name in config_lib.shape_fields(type(config)):
    if saved.get(name) != current[name]:
      raise CheckpointError(
          f"{where} was trained with --{name.replace('env_id', 'env')}={saved.get(name)}, "
          f"but this run asks for {current[name]}; use the same value or another --workdir")
  return [k for k, v in current.items()
          if k not in ("num_iterations", "total_steps") and saved.get(k) != v]


def resume_or_init(ckpt: Checkpointer, *, algorithm: str, config: Any, init, abstract_state):
  """The latest checkpointed state of this run, or `init()` if there is none.
  `abstract_state()`: the state's shapes, dtypes and shardings."""
  from absl import logging
  latest = ckpt.latest_step()
  if latest is None:
    return init()
  differs = check_compatible(ckpt.meta(latest), config, algorithm,
                             f"{ckpt.directory}/{latest}")
  if differs:
    logging.warning("resuming with changed settings %s: not a bit-exact continuation",
                    ", ".join(differs))
  return ckpt.restore_state(latest, abstract_state())
