"""Smoke: every module imports, every env builds, every launcher explains
itself. An undeclared dependency or an import-time error fails here, once
and clearly, instead of in every test that happens to touch the module."""

import importlib
import os
import pkgutil

import pytest

import envs
from conftest import ROOT, run_launcher

PACKAGES = ("envs", "zerogo", "agents")
LAUNCHERS = sorted(f for f in os.listdir(os.path.join(ROOT, "launch"))
                   if f.endswith(".py") and not f.startswith("_"))


def _modules() -> list[str]:
  names = []
  for package in PACKAGES:
    names.append(package)
    path = [os.path.join(ROOT, package)]
    names += [f"{package}.{m.name}" for m in pkgutil.iter_modules(path)]
  return names


@pytest.mark.parametrize("name", _modules())
def test_module_imports(name):
  importlib.import_module(name)


def test_every_package_module_is_listed():
  # The walk above is the only list: a new module is covered without edits.
  assert {"zerogo.checkpoint", "agents.alphazero", "agents.ppo", "envs.minatar"} <= set(
      _modules())


@pytest.mark.parametrize("env_id", envs.list_envs())
def test_every_registered_env_builds(env_id):
  env = envs.make(env_id)
  assert env.id == env_id and env.num_actions > 0 and env.num_players >= 1
  assert all(d > 0 for d in env.observation_shape)


@pytest.mark.parametrize("script", LAUNCHERS)
def test_every_launcher_prints_its_usage(script):
  proc = run_launcher(script, "--helpshort", check=False, timeout=120)
  text = proc.stdout + proc.stderr
  assert proc.returncode == 1, text[-2000:]          # absl's exit status after help
  assert "Traceback" not in text
  usage = [line for line in text.splitlines() if f"python launch/{script}" in line]
  assert usage, f"{script}: no usage line to copy"
  if script in ("selfplay.py", "ppo.py"):            # the required flag is in it
    assert all("--workdir=" in line for line in usage), usage
