"""Shared launcher plumbing: error reporting, flags.txt, quiet logs."""

from __future__ import annotations

import os
import sys

from absl import flags, logging


class UsageError(Exception):
  """Bad input from the user: reported as one sentence, exit status 2."""


def define_distributed_flags() -> None:
  """--coordinator_address --num_processes --process_id (zerogo/distributed.py)."""
  flags.DEFINE_string(
      "coordinator_address", None,
      "Multi-process runs: HOST:PORT of process 0, where it starts JAX's coordinator "
      "(every process gets the same value). Leave the three multi-process flags unset "
      "to auto-detect Cloud TPU pods, Slurm and Open MPI, or to run as one process.")
  flags.DEFINE_integer("num_processes", None,
                       "Multi-process runs: how many processes (hosts) take part; "
                       "1 forces a single-process run inside a cluster job.")
  flags.DEFINE_integer("process_id", None,
                       "Multi-process runs: this process's index in [0, --num_processes).")
  flags.DEFINE_integer("distributed_timeout_s", 300,
                       "Multi-process runs: seconds to wait for every process to join.")


def init_distributed() -> None:
  """Joins the other processes, if any; call before anything touches a
  device (jax.devices(), jax.default_backend(), any array)."""
  from zerogo import distributed
  f = flags.FLAGS
  distributed.initialize(f.coordinator_address, f.num_processes, f.process_id,
                         timeout_s=f.distributed_timeout_s)


def die(message: str, status: int = 2) -> None:
  print(f"error: {message}", file=sys.stderr)
  sys.exit(status)


def write_flags(workdir: str, module_name: str) -> str:
  """Writes the resolved flags of the launcher whose `__name__` is
  `module_name` to <workdir>/flags.txt (process 0 only); returns the text."""
  if module_name == "__main__":  # absl files a script's flags under its path
    module_name = sys.argv[0]
  os.makedirs(workdir, exist_ok=True)
  text = flags.FLAGS.flags_into_string()
  names = _program_flags(module_name)

  def own_flag(line: str) -> bool:  # a false boolean is written "--noNAME"
    name = line.split("=")[0].lstrip("-")
    return name in names or (name.startswith("no") and name[2:] in names
                             and isinstance(flags.FLAGS[name[2:]].value, bool))
  own = "\n".join(line for line in text.splitlines() if own_flag(line))
  import jax
  if jax.process_index() == 0:
    with open(os.path.join(workdir, "flags.txt"), "w") as f:
      f.write(own + "\n")
  return own


def _program_flags(module_name: str) -> set[str]:
  return {f.name for f in flags.FLAGS.get_flags_for_module(module_name)}


def require_at_least(minimum: int, *names: str) -> None:
  """Raises ValueError (one sentence) for the first flag below `minimum`
  (flags left unset, None, are skipped)."""
  for name in names:
    value = getattr(flags.FLAGS, name)
    if value is not None and value < minimum:
      raise ValueError(f"--{name} must be at least {minimum}, got {value}")


def resolve_bf16(value: str) -> bool:
  """--bf16: 'true', 'false', or 'auto' (on for GPU/TPU, off on CPU)."""
  import jax
  return {"true": True, "false": False}.get(value, jax.default_backend() != "cpu")


def quiet_logs(level: int = logging.WARNING) -> None:
  # Orbax and absl log every save at INFO; the progress bar says enough.
  # Tools that only read checkpoints pass ERROR: orbax warns on every
  # read-only open.
  logging.set_verbosity(level)
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run_guarded(main_fn, known_errors: tuple) -> None:
  """Runs main_fn; a known bad-input error becomes one line and exit 2."""
  from zerogo.preemption import Preempted
  try:
    main_fn()
  except Preempted as e:  # saved; the same command continues: not a failure
    print(str(e), file=sys.stderr)
    sys.exit(0)
  except known_errors as e:
    die(str(e))
  except KeyboardInterrupt:
    die("interrupted; the run resumes from its last checkpoint with the same --workdir", 130)
