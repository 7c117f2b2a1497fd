"""launch/selfplay.py end to end: a tiny run, and bad input."""

import json
import os

import jax
import numpy as np
import pytest

import envs
import agents
from conftest import run_launcher
from test_checkpoint import TINY_FLAGS


@pytest.mark.slow(seconds=70)
def test_tiny_run_writes_everything_and_loads_as_an_agent(tmp_path):
  workdir = tmp_path / "run"
  flags = [f for f in TINY_FLAGS
           if not f.startswith(("--eval_every", "--num_iterations", "--nosummary"))]
  proc = run_launcher("selfplay.py", f"--workdir={workdir}", *flags, "--num_iterations=2",
               "--eval_every=2", "--eval_games=4", "--eval_uct_simulations=4",
               "--checkpoint_every=1", devices=2)
  # It ends by saying what the user got and what to run next.
  out = proc.stdout
  assert "against random:" in out and "minimax-optimal moves in" in out, out
  assert "against exact minimax" in out and f"launch/play.py --checkpoint={workdir}" in out
  flags_txt = (workdir / "flags.txt").read_text()
  assert "--env=tic_tac_toe" in flags_txt and "--num_channels=8" in flags_txt
  rows = [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert [r["iteration"] for r in rows] == [1, 2]
  assert 0.0 <= rows[-1]["eval/random_win_rate"] <= 1.0 and "eval/uct_win_rate" in rows[-1]
  assert any(name.startswith("events.out.tfevents")
             for name in os.listdir(workdir / "tensorboard"))

  agent = agents.load_agent(str(workdir))   # no flagfile needed
  assert agent.env_id == "tic_tac_toe" and agent.num_simulations == 4
  states = jax.vmap(agent.env.init)(jax.random.split(jax.random.PRNGKey(0), 5))
  actions = jax.jit(agent.act)(states, jax.random.PRNGKey(1))
  assert actions.dtype == np.int32 and actions.shape == (5,)
  assert bool(np.asarray(states.legal_action_mask)[np.arange(5), np.asarray(actions)].all())
  raw = agents.load_agent(str(workdir / "checkpoints" / "1"), num_simulations=0)
  assert raw.num_simulations == 0 and raw.act(states, jax.random.PRNGKey(1)).shape == (5,)

  proc = run_launcher("evaluate.py", f"--checkpoint={workdir}", "--opponent=uct:2",
                      "--games=4", "--batch=4", "--num_simulations=2", "--time_moves=3")
  result = json.loads(proc.stdout.strip().splitlines()[-1])
  assert result["games"] == 4 and result["wins"] + result["draws"] + result["losses"] == 4
  assert set(result["seconds_per_move"]) == {"agent", "opponent"}
  assert all(0 < s < 60 for s in result["seconds_per_move"].values())
  assert result["first_wins"] + result["second_wins"] == result["wins"]


@pytest.mark.parametrize("args,message", [
    (["--env=chekers"], "unknown game 'chekers'; valid names are"),
    (["--selfplay_batch_size=6"], "divisible by the number of devices (4)"),
    (["--num_simulations=-1"], "--num_simulations must be at least 1"),
    (["--env=backgammon"], "deterministic two-player game"),
])
def test_bad_config_is_one_sentence_before_anything_compiles(args, message):
  # What launch/selfplay.py runs on its flags before it touches the workdir.
  from agents import alphazero
  from agents.configs import AlphaZeroConfig
  from launch import _common
  with pytest.raises(ValueError) as e:
    alphazero.validate(_common.config_from_args(AlphaZeroConfig, [*TINY_FLAGS, *args]), 4)
  assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("args,message", [
    (["--selfplay_batch_size=6"], "divisible by the number of devices (4)"),
    (["--flagfile=/nonexistent/x.flags"], "x.flags"),
    (["--search=alphabeta"], "search"),
])
def test_bad_input_is_one_sentence_and_nonzero_exit(tmp_path, args, message):
  proc = run_launcher("selfplay.py", f"--workdir={tmp_path}", *TINY_FLAGS, *args,
                      devices=4, check=False, timeout=120)
  assert proc.returncode != 0
  assert "Traceback" not in proc.stderr
  assert message in proc.stderr
  assert not (tmp_path / "checkpoints").exists()


def test_help_explains_the_flags():
  proc = run_launcher("selfplay.py", "--helpshort", check=False, timeout=120)
  text = proc.stdout + proc.stderr
  for name in ("--workdir", "--env", "--num_simulations", "--search", "--checkpoint_every"):
    assert name in text


def test_every_flagfile_parses_and_validates():
  from agents import alphazero, muzero, ppo, rlhf
  from launch import _common
  configs = os.path.join(os.path.dirname(os.path.dirname(__file__)), "launch", "configs")
  names = sorted(f[:-6] for f in os.listdir(configs) if f.endswith(".flags"))
  assert {"tic_tac_toe", "connect_four", "othello", "go_9x9", "go_19x19", "cartpole",
          "connect_four_ppo", "minatar_breakout", "minatar_asterix", "minatar_freeway",
          "minatar_space_invaders", "minatar_seaquest", "muzero_cartpole",
          "muzero_connect_four", "muzero_minatar_breakout"} <= set(names)
  for name in names:
    path = os.path.join(configs, name + ".flags")
    # The launchers' own flag-to-config path, on a fresh flag set.
    # PPO flagfiles count environment steps; AlphaZero ones iterations.
    # MuZero flagfiles are named muzero_*, RLHF ones rlhf_*.
    if name.startswith("muzero_"):
      config = _common.config_from_args(muzero.MuZeroConfig, [f"--flagfile={path}"])
      muzero.validate(config, num_devices=1)
    elif name.startswith("rlhf_"):
      config = _common.config_from_args(rlhf.RLHFConfig, [f"--flagfile={path}"])
      rlhf.validate(config, num_devices=1)
    elif "--total_steps=" in open(path).read():
      config = _common.config_from_args(ppo.PPOConfig, [f"--flagfile={path}"])
      ppo.validate(config, num_devices=1)
    else:
      config = _common.config_from_args(alphazero.AlphaZeroConfig, [f"--flagfile={path}"])
      alphazero.validate(config, num_devices=1)
    # `--flag=value`, or a bare boolean `--flag` (true).
    written = {name: value if sep else "true" for name, sep, value in (
        line.strip()[2:].partition("=") for line in open(path) if line.startswith("--"))}
    assert config.env_id == written["env"], name      # renamed flags reach the config
    assert str(config.seed) == written.get("seed", str(config.seed)), name


@pytest.mark.parametrize("args,message", [
    (["--checkpoint=/nonexistent"], "no checkpoint at /nonexistent"),
    (["--checkpoint=.", "--opponent=uct:x"], "no checkpoint"),
    (["--checkpoint=/tmp", "--games=3"], "must be even"),
])
def test_evaluate_bad_input(args, message):
  proc = run_launcher("evaluate.py", *args, check=False, timeout=120)
  assert proc.returncode != 0 and "Traceback" not in proc.stderr
  assert message in proc.stderr


def test_evaluate_unknown_opponent_names_the_choices():
  from launch.evaluate import make_opponent
  with pytest.raises(ValueError, match="unknown agent spec 'alphago'; use ckpt:PATH"):
    make_opponent("alphago", envs.make("tic_tac_toe"))
  with pytest.raises(ValueError, match="external engines play in launch/tournament.py"):
    make_opponent("gtp:gnugo --mode gtp", envs.make("go_9x9"))
  assert make_opponent("uct:3", envs.make("tic_tac_toe")).name == "uct:3"
  assert make_opponent("minimax", envs.make("tic_tac_toe")).name == "minimax"
