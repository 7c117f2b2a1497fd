"""Several processes, one program: JAX's multi-controller runtime.

Every process runs the same launcher with the same flags; after
`initialize`, `jax.devices()` lists the devices of *all* processes, the
training mesh spans them, and every jitted program and collective runs on
every process in the same order. Only process 0 writes metrics, progress
and TensorBoard; every process takes part in checkpoint saves and restores.

Three ways in:
  * nothing given: auto-detection where `jax.distributed.initialize()`
    needs no arguments (Cloud TPU pod slices, Slurm `srun`, Open MPI);
    a plain single machine stays single-process.
  * --coordinator_address=HOST:PORT --num_processes=N --process_id=I:
    explicit, e.g. two processes on one machine or any cluster JAX cannot
    detect.
  * --num_processes=1: force single-process even inside a cluster job.
"""

from __future__ import annotations

import glob
import importlib.util
import os

# Environment variables that mean "this process is one of several", for the
# cluster kinds `jax.distributed.initialize()` detects on its own.
_CLUSTER_MARKERS = {
    # Set by srun for its job step; SLURM_NTASKS is also set for a plain
    # `python` in an sbatch script, which is one process, not several.
    "slurm": "SLURM_STEP_NUM_TASKS",
    "open mpi": "OMPI_COMM_WORLD_SIZE",
}


class DistributedError(RuntimeError):
  """Bad multi-process settings, or the processes could not meet."""


def detect_cluster(environ=None) -> str | None:
  """The multi-process cluster this process runs in ("slurm", "open mpi",
  "cloud tpu"), or None for a plain single-process run."""
  environ = os.environ if environ is None else environ
  for name, variable in _CLUSTER_MARKERS.items():
    value = environ.get(variable, "")
    if value.isdigit() and int(value) > 1:
      return name
  # GKE TPU pods list every worker of the slice; one name is a single host.
  hosts = environ.get("TPU_WORKER_HOSTNAMES", "")
  if len([h for h in hosts.split(",") if h.strip()]) > 1:
    return "cloud tpu"
  # A Cloud TPU VM (gcloud ... tpu-vm ssh --worker=all): libtpu and TPU chips;
  # JAX then finds the slice's workers itself (one process on a single host).
  if (environ is os.environ and importlib.util.find_spec("libtpu") is not None
      and (glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*"))):
    return "cloud tpu"
  return None


def check_settings(coordinator_address: str | None, num_processes: int | None,
                   process_id: int | None) -> None:
  """Raises DistributedError (one sentence) for inconsistent flags; no JAX work."""
  given = {"coordinator_address": coordinator_address, "num_processes": num_processes,
           "process_id": process_id}
  if num_processes is not None and num_processes < 1:
    raise DistributedError(f"--num_processes must be at least 1, got {num_processes}")
  if num_processes == 1 and coordinator_address is None:
    if process_id not in (None, 0):
      raise DistributedError(f"--process_id={process_id} needs --num_processes > 1")
    return
  if any(v is not None for v in given.values()):
    missing = [k for k, v in given.items() if v is None]
    if missing:
      raise DistributedError(
          "--coordinator_address, --num_processes and --process_id go together; "
          f"missing --{missing[0]} (or give none of them to auto-detect a cluster)")
    if not coordinator_address.rpartition(":")[2].isdigit():
      raise DistributedError(f"--coordinator_address={coordinator_address!r} must be "
                             "HOST:PORT, e.g. 10.0.0.2:1234 (process 0's address)")
    if not 0 <= process_id < num_processes:
      raise DistributedError(f"--process_id={process_id} must be in [0, {num_processes})")


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, *, timeout_s: int = 300) -> int:
  """Joins the other processes (if there are any) before anything touches
  a device; returns the process count. Call once, first thing in main."""
  check_settings(coordinator_address, num_processes, process_id)
  explicit = coordinator_address is not None
  if not explicit and (num_processes == 1 or detect_cluster() is None):
    return 1
  if explicit and process_id != 0:
    _wait_for_coordinator(coordinator_address, timeout_s)
  import jax
  # CPU devices of different processes talk through gloo (over TCP); GPUs
  # and TPUs use their own interconnects, so this only affects CPU runs.
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  try:
    if explicit:
      jax.distributed.initialize(coordinator_address, num_processes, process_id,
                                 initialization_timeout=timeout_s)
    else:
      jax.distributed.initialize(initialization_timeout=timeout_s)
  except Exception as e:  # timeouts and refused connections come as many types
    where = coordinator_address or f"the {detect_cluster()} coordinator"
    first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
    raise DistributedError(
        f"could not join the other processes through {where} within {timeout_s} s "
        f"({first}); start every process with the same --coordinator_address and "
        "--num_processes, and process 0 first or at the same time") from e
  return jax.process_count()


def _wait_for_coordinator(address: str, timeout_s: float) -> None:
  """Waits until process 0's coordinator accepts connections. JAX's own
  client aborts the whole process (a C++ fatal error, no exception) when it
  cannot register, so a missing coordinator is caught here first."""
  import socket
  import time
  host, _, port = address.rpartition(":")
  deadline = time.monotonic() + timeout_s
  while True:
    try:
      with socket.create_connection((host.strip("[]"), int(port)), timeout=1.0):
        return
    except (OSError, ValueError) as e:
      if time.monotonic() >= deadline:
        raise DistributedError(
            f"could not join the other processes: nothing answered at {address} within "
            f"{timeout_s:g} s ({type(e).__name__}); start process 0 with the same "
            "--coordinator_address, or check the address and firewall") from None
      time.sleep(0.5)


def agree(*flags: bool) -> tuple[bool, ...]:
  """Each flag OR-ed over all processes (one tiny all-gather; free with one
  process): decisions that end a loop must be the same everywhere, or the
  processes would wait on each other's collectives forever."""
  import jax
  if jax.process_count() == 1:
    return tuple(bool(f) for f in flags)
  import numpy as np
  from jax.experimental import multihost_utils
  gathered = multihost_utils.process_allgather(np.asarray(flags, np.int32))
  return tuple(bool(v) for v in np.asarray(gathered).reshape(-1, len(flags)).any(0))
