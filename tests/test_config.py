"""Typed configs: field metadata drives flags and validation in one place."""

import dataclasses

import pytest

from agents.configs import AlphaZeroConfig, PPOConfig
from launch import _common
from zerogo import config as config_lib
from zerogo.loop import RunOptions


@dataclasses.dataclass(frozen=True)
class Toy:
  rate: float = config_lib.field(0.5, "A rate.", minimum=0, maximum=1)
  steps: int = config_lib.field(3, "Steps.", minimum=1, shape=True)
  mode: str = config_lib.field("a", "Mode.", choices=("a", "b"))
  env_id: str = config_lib.field("x", "Game.", flag="env")
  scale: float = config_lib.field(1.0, "Scale.", above=0)
  hidden: int = 7                      # not a documented field: no flag


@pytest.mark.parametrize("changes,message", [
    (dict(rate=1.5), "--rate must be in [0, 1], got 1.5"),
    (dict(steps=0), "--steps must be at least 1, got 0"),
    (dict(mode="c"), "--mode='c' is not one of a, b"),
    (dict(scale=0.0), "--scale must be greater than 0, got 0.0"),
    (dict(rate=float("nan")), "--rate must be a finite number, got nan"),
    (dict(scale=float("inf")), "--scale must be a finite number"),
])
def test_check_names_the_flag_and_the_bound(changes, message):
  with pytest.raises(ValueError) as error:
    config_lib.check(Toy(**changes))
  assert str(error.value).startswith(message)


def test_check_accepts_defaults_and_bounds():
  config_lib.check(Toy())
  config_lib.check(Toy(rate=0.0, steps=1, mode="b"))
  for config_class in (AlphaZeroConfig, PPOConfig, RunOptions):
    config_lib.check(config_class())


def test_shape_fields_and_flag_names_come_from_metadata():
  assert config_lib.shape_fields(Toy) == ("steps",)
  assert [config_lib.flag_name(f) for f in config_lib.documented_fields(Toy)] == [
      "rate", "steps", "mode", "env", "scale"]
  assert "env_id" in config_lib.shape_fields(AlphaZeroConfig)
  assert "num_channels" in config_lib.shape_fields(AlphaZeroConfig)
  assert "learning_rate" not in config_lib.shape_fields(AlphaZeroConfig)


def test_flags_round_trip_into_the_config(tmp_path):
  flagfile = tmp_path / "x.flags"
  flagfile.write_text("--env=connect_four\n--num_simulations=7\n--noaugment\n--bf16=true\n"
                      "--search=puct\n--learning_rate=0.25\n--unknown_run_flag=3\n")
  config = _common.config_from_args(AlphaZeroConfig, [f"--flagfile={flagfile}"])
  assert config == AlphaZeroConfig(env_id="connect_four", num_simulations=7, augment=False,
                                   bf16=True, search="puct", learning_rate=0.25)
  # Every documented field is settable from the command line, with its default.
  assert _common.config_from_args(PPOConfig, []) == PPOConfig()


def test_from_dict_ignores_unknown_and_fills_missing():
  assert config_lib.from_dict(Toy, {"rate": 0.1, "gone": 1}) == Toy(rate=0.1)


_EXTREMES = {"int": [-1, 0, 1, 2**31, 2**70, -2**70],
             "float": [-1.0, 0.0, 1e-300, 1e300, float("nan"), float("inf"), -float("inf")],
             "str": ["", "x", "auto", "../../etc"],
             "bool": [True, False]}


def _cases():
  for config_class in (AlphaZeroConfig, PPOConfig):
    for f in config_lib.documented_fields(config_class):
      kind = str(f.type).split()[0].split("|")[0]
      for value in _EXTREMES.get(kind, []):
        yield pytest.param(config_class, f.name, value, id=f"{config_class.__name__}.{f.name}="
                           f"{value!r}"[:60])


@pytest.mark.parametrize("config_class,name,value", list(_cases()))
def test_every_extreme_value_passes_or_is_one_sentence(config_class, name, value):
  """Validation either accepts a value or rejects it with a ValueError whose
  one-line message names the flag; nothing else escapes (no IndexError,
  OverflowError, ZeroDivisionError from deep inside)."""
  from agents import alphazero, ppo
  validate = alphazero.validate if config_class is AlphaZeroConfig else ppo.validate
  config = dataclasses.replace(config_class(), **{name: value})
  try:
    validate(config, num_devices=1)
  except ValueError as e:
    message = str(e)
    assert "\n" not in message and message.strip(), message
  # Accepted values are in range: a float is finite, a seed a valid JAX seed.
  else:
    if isinstance(value, float):
      assert value == value and abs(value) != float("inf"), f"{name}={value} accepted"
    if name == "seed":
      assert 0 <= value < 2**31
