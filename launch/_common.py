"""Shared launcher plumbing: flags generated from the typed configs, error
reporting, flags.txt, quiet logs, the end-of-training summary."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any, Callable

from absl import flags, logging

from agents import specs
from zerogo import config as config_lib


# ---------------------------------------------------------------------------
# Flags from configs: the dataclass is the single source of flag names, types,
# defaults and help; `zerogo.config.check` validates the values.

def _flag_names(config_class, renames: dict | None) -> dict[str, str]:
  renames = renames or {}
  return {f.name: renames.get(f.name, config_lib.flag_name(f))
          for f in config_lib.documented_fields(config_class)}


def _module_of_caller(depth: int) -> str:
  module = sys._getframe(depth + 1).f_globals["__name__"]
  return sys.argv[0] if module == "__main__" else module  # absl's name for a script


_DEFINE = {"bool": flags.DEFINE_bool, "int": flags.DEFINE_integer,
           "float": flags.DEFINE_float, "str": flags.DEFINE_string}


def define_config_flags(config_class, *, defaults: dict | None = None, exclude=(),
                        renames: dict | None = None, unit: str = "iteration",
                        flag_values=flags.FLAGS, module: str | None = None) -> None:
  """Defines one flag per documented field of `config_class` (minus
  `exclude`), named by the field's `flag` metadata or `renames`, with the
  class default unless `defaults` overrides it. `{unit}` in help texts
  becomes `unit` (iteration, update). The flags belong to `module`
  (default: the caller): its --helpshort and its flags.txt list them."""
  defaults = defaults or {}
  names = _flag_names(config_class, renames)
  owner = dict(flag_values=flag_values, module_name=module or _module_of_caller(1))
  for f in config_lib.documented_fields(config_class):
    if f.name in exclude:
      continue
    meta, name = f.metadata, names[f.name]
    default = defaults.get(f.name, f.default)
    help_text = meta["help"].format(unit=unit)
    kind = next((k for k in _DEFINE if str(f.type).startswith(k)), None)
    if meta["choices"] is not None:
      # A string flag, checked by zerogo.config.check: a bad value is one
      # sentence and exit 2, like every other bad value.
      help_text += f" One of: {', '.join(map(str, meta['choices']))}."
      kind = "str"
    if meta["auto"]:
      flags.DEFINE_enum(name, "auto", ["auto", "true", "false"], help_text, **owner)
    elif kind is None:
      raise TypeError(f"{config_class.__name__}.{f.name}: no flag type for {f.type}")
    else:
      _DEFINE[kind](name, None if default == "" else default, help_text, **owner)


def define_num_simulations(help_text: str) -> None:
  """--num_simulations of the tools that load agents: the search budget of a
  loaded agent, 0 for its raw policy, unset for the budget it trained with.
  Bounded here once, by `specs.MAX_SIMULATIONS` (the same bound as @SIMS)."""
  flags.DEFINE_integer("num_simulations", None, help_text, lower_bound=0,
                       upper_bound=specs.MAX_SIMULATIONS, module_name=_module_of_caller(1))


def config_from_flags(config_class, *, exclude=(), renames: dict | None = None,
                      resolve_auto: Callable[[str], bool] | None = None,
                      flag_values=flags.FLAGS, **fixed: Any) -> Any:
  """The config built from the flags `define_config_flags` made; `fixed`
  sets fields directly. `auto` flags ('auto'/'true'/'false') are resolved by
  `resolve_auto` (default: auto = off)."""
  names = _flag_names(config_class, renames)
  values = dict(fixed)
  for f in config_lib.documented_fields(config_class):
    if f.name in exclude or f.name in fixed:
      continue
    value = flag_values[names[f.name]].value
    if f.metadata["auto"]:
      value = (resolve_auto or (lambda v: v == "true"))(value)
    values[f.name] = value
  return config_class(**values)


def config_from_args(config_class, args: list[str], **kwargs) -> Any:
  """The config a launcher would build from `args` (e.g. a flagfile), parsed
  into a fresh flag set: for tests and tools that read flagfiles."""
  values = flags.FlagValues()
  define_config_flags(config_class, flag_values=values)
  values(["config_from_args", *args], known_only=True)
  return config_from_flags(config_class, flag_values=values, **kwargs)


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


# ---------------------------------------------------------------------------
# Training launchers: every algorithm's launcher is these two calls.

def define_training_flags(config_class, *, unit: str, run_defaults: dict | None = None,
                          run_exclude=(), run_renames: dict | None = None) -> None:
  """The calling launcher's flags: its config's, the host loop's
  (`zerogo.loop.RunOptions`), --summary and the multi-process flags."""
  from zerogo.config import RunOptions
  module = _module_of_caller(1)
  define_config_flags(config_class, module=module, unit=unit)
  define_config_flags(RunOptions, defaults=run_defaults, exclude=run_exclude,
                      renames=run_renames, unit=unit, module=module)
  flags.DEFINE_bool("summary", True, "When training ends, play the agent against a random "
                    "player (and the exact solver, for tic-tac-toe; greedy episodes for "
                    "one-player games) and print what it achieved, with the next command "
                    "to try.")
  flags.DEFINE_bool("check_only", False, "Validate every flag, print `ok` and exit without "
                    "touching the workdir (launch/ablate.py checks each run this way before "
                    "the first one trains).")
  define_distributed_flags()


def training_main(argv, config_class, algorithm: str, make_trainer: Callable, *,
                  run_exclude=(), run_renames: dict | None = None) -> None:
  """Validates everything, then trains with `zerogo.loop.run`: resume or
  init, checkpoints, metrics, SIGTERM; ends with the summary. `algorithm`:
  the module with `validate(config, num_devices)`; `make_trainer(module,
  config)` builds the trainer. Bad input: one sentence, exit 2."""
  from zerogo import preemption
  preemption.install()  # a SIGTERM from here on: exit 0, "run the same command"
  start(argv, "workdir", log_level=logging.WARNING)
  module_name = _module_of_caller(1)
  import importlib

  import jax

  def train():
    init_distributed()  # first: before anything touches a device (pgx's import does)
    from zerogo import loop
    module = importlib.import_module(algorithm)
    config = config_from_flags(config_class, resolve_auto=resolve_bf16)
    module.validate(config, jax.device_count())  # before anything compiles
    options = config_from_flags(loop.RunOptions, exclude=run_exclude, renames=run_renames,
                                workdir=flags.FLAGS.workdir)
    config_lib.check(options)
    if flags.FLAGS.check_only:
      print(f"ok: {config.env_id}")
      return
    trainer = make_trainer(module, config)
    loop.run(trainer, dataclasses.replace(options, flags_text=flags_text(module_name)))
    if flags.FLAGS.summary:
      print_summary(flags.FLAGS.workdir)
    elif jax.process_index() == 0:
      print(f"done: {flags.FLAGS.workdir} (metrics.jsonl, checkpoints/)")

  run_guarded(train, interrupted="interrupted; the run resumes from its last checkpoint "
              "with the same --workdir")


def start(argv, *required: str, log_level: int = logging.ERROR) -> None:
  """The start of every command but bench.py: required flags, no stray
  arguments, quiet logs (ERROR for tools that only read checkpoints: orbax
  warns on every read-only open)."""
  require(*required)
  if len(argv) > 1:
    die(f"unexpected arguments {argv[1:]}; flags are written --name=value")
  quiet_logs(log_level)


def print_summary(workdir: str) -> None:
  """The end of a training command: what the user has and what to run next
  (process 0 only)."""
  import jax
  if jax.process_index() != 0:
    return
  import agents
  from agents import report
  agent = agents.load_agent(workdir)
  print(f"done: {workdir} ({agent.name}, {agent.env_id}; metrics.jsonl, checkpoints/)")
  for line in report.summarise(agent):
    print(f"  {line}")
  if agent.env.num_players == 2:
    print(f"next: python launch/play.py --checkpoint={workdir}          (play it yourself)\n"
          f"      python launch/evaluate.py --checkpoint={workdir} --opponent=uct:200")
  else:
    print(f"next: tensorboard --logdir {workdir}/tensorboard   "
          "(pip install -e '.[tensorboard]')")


def parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing with a bad value or unknown flag as one line
  naming the flag and exit 2 (`app.run(main, flags_parser=parse_flags)`),
  like every other bad input, instead of absl's two-line FATAL message."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    die(f"{e}; see --helpshort for every flag")


def require(*names: str) -> None:
  """One sentence and exit 2 for the first of `names` left unset (absl's own
  `required=True` prints a FATAL parsing error instead)."""
  for name in names:
    if flags.FLAGS[name].value in (None, ""):
      help_text = flags.FLAGS[name].help.split(";")[0].split(". ")[0].rstrip(".")
      die(f"--{name} is required ({help_text[0].lower() + help_text[1:]}); "
          "see --helpshort for every flag")


def die(message: str, status: int = 2) -> None:
  print(f"error: {message}", file=sys.stderr)
  sys.exit(status)


def flags_text(module_name: str) -> str:
  """The resolved flags of launcher `module_name` (absl's name: a script's
  path), one per line, as absl's flags_into_string writes them (what
  `zerogo.loop.run` writes to <workdir>/flags.txt)."""
  own = sorted(flags.FLAGS.get_flags_for_module(module_name), key=lambda f: f.name)
  return "\n".join(f.serialize() for f in own if f.value is not None)


def resolve_bf16(value: str) -> bool:
  """--bf16: 'true', 'false', or 'auto' (on for GPU/TPU, off on CPU; call
  after init_distributed: it asks JAX for the backend)."""
  import jax
  return {"true": True, "false": False}.get(value, jax.default_backend() != "cpu")


def _not_orbax_thread_error(record) -> bool:
  # Orbax's writer threads log each failure (e.g. a full disk) with a
  # traceback; the same error reaches the main thread, where run_guarded
  # reports it in one sentence.
  return not ("orbax" in record.pathname and "raised an exception" in str(record.msg))


def quiet_logs(level: int = logging.WARNING) -> None:
  # Orbax and absl log every save at INFO; the progress bar says enough.
  import logging as py_logging
  logging.set_verbosity(level)
  py_logging.getLogger("absl").addFilter(_not_orbax_thread_error)
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def os_error_sentence(e: OSError) -> str:
  """An OSError as one sentence naming the path: a missing, read-only,
  full or unwritable output is the user's to fix, not a traceback."""
  what = e.strerror or type(e).__name__
  where = e.filename or ""
  if not where and e.errno == 28 and "workdir" in flags.FLAGS and flags.FLAGS.workdir:
    # A write into an open file (metrics, a flush) names no path: the run's
    # outputs all live in its workdir, so that is where space must be freed.
    where = flags.FLAGS.workdir
  hint = {28: "; free some space and run the same command again (the last complete "
              "checkpoint is kept)",
          13: "; choose a directory you can write to",
          30: "; choose a writable directory",
          17: "; it exists and is not a directory: choose another path",
          20: "; a path component is a file, not a directory"}.get(e.errno, "")
  return f"{what}: {where}{hint}" if where else f"{what}{hint}"


def _silence_background_logs() -> None:
  """On the way out after an error: orbax's writer threads (e.g. on a full
  disk) would log their own tracebacks after our one sentence."""
  import logging as py_logging
  logging.set_verbosity(logging.FATAL)
  py_logging.disable(py_logging.CRITICAL)


def _quiet_closed_event_loop() -> None:
  """tensorstore completes orbax's pending writes from its own threads and
  calls `loop.call_soon_threadsafe` on an event loop orbax has already closed
  once a save failed (a full disk); each such RuntimeError is reported as
  unraisable, a bare traceback after or before our one sentence. It says
  nothing the sentence does not (the save failed), so the hooks drop exactly
  that error and pass every other one on."""
  def closed_loop(value) -> bool:
    return isinstance(value, RuntimeError) and str(value) == "Event loop is closed"
  previous_unraisable, previous_except = sys.unraisablehook, sys.excepthook

  def unraisable(info):
    if not closed_loop(info.exc_value):
      previous_unraisable(info)

  def excepthook(kind, value, tb):
    if not closed_loop(value):
      previous_except(kind, value, tb)
  sys.unraisablehook, sys.excepthook = unraisable, excepthook


def _die_now(message: str, status: int = 2) -> None:
  """die() for the error paths where orbax's background threads may still be
  running (a failed asynchronous save): at interpreter shutdown they print
  'Event loop is closed' tracebacks through no logger, after our one
  sentence. Everything the run finished saving is already on disk (a
  checkpoint is committed by its atomic rename; metrics are flushed per
  row), so the process ends here, without running those threads' exits."""
  print(f"error: {message}", file=sys.stderr)
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status)


def run_guarded(main_fn, more_errors: tuple = (), *,
                interrupted: str = "interrupted") -> None:
  """Runs main_fn; a bad-input error (ValueError, CheckpointError,
  DistributedError or one of `more_errors`) or an OS failure (disk full,
  permissions, a file where a directory should be) becomes one line and
  exit 2, Ctrl-C the line `interrupted` and exit 130."""
  from zerogo.checkpoint import CheckpointError
  from zerogo.distributed import DistributedError
  from zerogo.preemption import Preempted
  _quiet_closed_event_loop()
  try:
    main_fn()
  except Preempted as e:  # saved; the same command continues: not a failure
    print(str(e), file=sys.stderr)
    sys.exit(0)
  except (ValueError, CheckpointError, DistributedError, *more_errors) as e:
    _silence_background_logs()
    text = str(e)
    if "No space left on device" in text:  # tensorstore's ENOSPC, as a ValueError
      import re
      path = re.search(r'(?:writing local file|Failed writing:) "([^"]+)"', text)
      _die_now(os_error_sentence(OSError(28, "No space left on device",
                                         path.group(1) if path else None)))
    die(text)
  except OSError as e:
    _silence_background_logs()
    _die_now(os_error_sentence(e))
  except KeyboardInterrupt:
    die(interrupted, 130)
