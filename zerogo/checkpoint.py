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

import dataclasses
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


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(os.path.abspath(workdir), "checkpoints")


class Checkpointer:
  """Saves and restores run states under `<workdir>/checkpoints`."""

  def __init__(self, directory: str, *, max_to_keep: int = 3, read_only: bool = False):
    self.directory = os.path.abspath(directory)
    # Orbax warns on every read-only open ("Given directory is read only",
    # about a writable directory): noise for `load_agent` users.
    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.setLevel(logging.ERROR if read_only else level)
    try:
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
    finally:
      absl_logger.setLevel(level)

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

  def restore(self, step: int, item: str, template: Any) -> Any:
    """Item "params" or "state" of a step. `template`: a pytree of
    jax.ShapeDtypeStruct (with shardings)."""
    abstract = _flatten(template)
    try:
      stored = {k: tuple(v.shape) for k, v in self._manager.item_metadata(step)[item].items()}
    except Exception as e:
      raise self._unreadable(step, e) from e
    missing = sorted(set(abstract) - set(stored))
    wrong = [k for k in abstract if k in stored and stored[k] != tuple(abstract[k].shape)]
    if missing or wrong:
      name = (missing or wrong)[0]
      raise CheckpointError(
          f"checkpoint {self.directory}/{step} does not fit this run: {item}{name} "
          + ("is missing" if missing else
             f"has shape {stored[name]}, expected {tuple(abstract[name].shape)}")
          + "; use the flags it was trained with or another --workdir")
    restored = self._restore(step, **{item: ocp.args.StandardRestore(abstract)})[item]
    # `abstract` lists the leaves in the template's order.
    return jax.tree.unflatten(jax.tree.structure(template), [restored[k] for k in abstract])

  def _restore(self, step: int, **items) -> Any:
    try:
      return self._manager.restore(step, args=ocp.args.Composite(**items))
    except Exception as e:
      raise self._unreadable(step, e) from e

  def _unreadable(self, step: int, e: Exception) -> CheckpointError:
    return CheckpointError(
        f"checkpoint {self.directory}/{step} is unreadable or incomplete ({type(e).__name__}: "
        f"{str(e).splitlines()[0][:200] if str(e) else ''}); delete that step directory "
        "to fall back to an earlier one")

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
  return Checkpointer(directory, read_only=True).restore(step, "params", template)


# ---------------------------------------------------------------------------
# Runs: how every training loop resumes (`zerogo.loop.save` writes the meta).

def resume_or_init(ckpt: Checkpointer, *, algorithm: str, config: Any, init, abstract_state):
  """The latest checkpointed state of this run, or `init()` if there is none.
  `abstract_state()`: the state's shapes, dtypes and shardings.

  Raises CheckpointError if the stored run cannot continue as `config`
  (another algorithm, or a field marked `shape` in its config class
  differs); other fields that differ are logged (the run continues, but is
  no longer a bit-exact continuation)."""
  from absl import logging
  latest = ckpt.latest_step()
  if latest is None:
    return init()
  stored, where = ckpt.meta(latest), f"{ckpt.directory}/{latest}"
  if stored.get("algorithm") != algorithm:
    raise CheckpointError(
        f"{where} holds a run of {stored.get('algorithm')!r}, not of {algorithm!r}; "
        "use another --workdir")
  current = dataclasses.asdict(config)
  # Fields added after a checkpoint was written take their defaults.
  saved = {**dataclasses.asdict(type(config)()), **stored["config"]}
  for name in config_lib.shape_fields(type(config)):
    if saved.get(name) != current[name]:
      raise CheckpointError(
          f"{where} was trained with --{name.replace('env_id', 'env')}={saved.get(name)}, "
          f"but this run asks for {current[name]}; use the same value or another --workdir")
  differs = [k for k, v in current.items()
             if k not in ("num_iterations", "total_steps") and saved.get(k) != v]
  if differs:
    logging.warning("resuming with changed settings %s: not a bit-exact continuation",
                    ", ".join(differs))
  return ckpt.restore(latest, "state", abstract_state())
