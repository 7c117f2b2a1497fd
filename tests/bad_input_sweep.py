r"""The bad-input sweep of issue 23: every launcher given wrong types,
negative, zero, NaN, infinite and overflowing values, unknown choices,
missing or corrupt checkpoints and unusable output paths, each as a fresh
subprocess with a timeout. Not a pytest module (pytest collects test_*.py);
tests/test_bad_input_sample.py runs a random sample of it.

  python tests/bad_input_sweep.py [--jobs=2] [--timeout_s=180] [--only=SUBSTRING]
                                  [--sample=N --seed=S] [--out=results/hardening/README.md]

Each case is classified as
  clean      non-zero exit, the last stderr line one sentence, no traceback
  success    exit 0 (a value that is fine after all)
  traceback  "Traceback" in the output
  unclear    non-zero exit without a one-sentence last line
  hang       still running at the timeout (killed)
and the counts by category (and every non-clean case) are printed and
written as a markdown table.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TINY = ["--num_iterations=1", "--selfplay_batch_size=4", "--num_simulations=2",
        "--num_channels=4", "--num_blocks=1", "--train_batch_size=4", "--replay_rows=4",
        "--noprogress", "--eval_every=0", "--nosummary", "--env=tic_tac_toe",
        "--unroll_length=2", "--max_num_considered_actions=2"]
TINY_PPO = ["--env=CartPole-v1", "--total_steps=64", "--num_envs=4", "--num_steps=8",
            "--num_minibatches=2", "--num_epochs=1", "--hidden=4", "--noprogress",
            "--eval_every=0", "--nosummary"]
TINY_MZ = ["--env=CartPole-v1", "--num_iterations=1", "--num_envs=2", "--unroll_length=2",
           "--num_simulations=2", "--max_num_considered_actions=2", "--latent_size=4",
           "--num_blocks=0", "--support_size=2", "--replay_rows=8", "--num_unroll_steps=1",
           "--td_steps=2", "--train_batch_size=2", "--sgd_steps_per_iteration=1",
           "--warmup_steps=0", "--noprogress", "--eval_every=0", "--nosummary"]
TINY_PRE = ["--env=tic_tac_toe", "--records={records}", "--num_steps=2", "--steps_per_call=1",
            "--batch_size=4", "--num_channels=4", "--num_blocks=1", "--torso=mlp",
            "--num_simulations=2", "--max_num_considered_actions=2", "--noprogress",
            "--eval_every=0", "--nosummary"]
TINY_OFF = ["--env=CartPole-v1", "--dataset={dataset}", "--algorithm=bc", "--num_steps=2",
            "--steps_per_call=1", "--batch_size=4", "--torso=mlp", "--hidden=4",
            "--num_layers=1", "--noprogress", "--eval_every=0", "--nosummary"]
TINY_RLHF = ["--env=CartPole-v1", "--total_steps=64", "--num_envs=4", "--num_steps=8",
             "--num_minibatches=2", "--num_epochs=1", "--hidden=4", "--clip_length=4",
             "--total_labels=2", "--reward_ensemble=1", "--reward_hidden=4",
             "--reward_layers=1", "--reward_steps=1", "--reward_batch_size=2",
             "--heldout_every=0", "--noprogress", "--eval_every=0", "--nosummary"]
TINY_ALL = {*TINY, *TINY_PPO, *TINY_MZ, *TINY_PRE, *TINY_OFF, *TINY_RLHF}
DATASET_ID = "zerogo/cartpole/tiny-v0"
OVERFLOW = "99999999999999999999"
INT_BAD = ["0", "-1", OVERFLOW, "abc", "1.5", "nan", ""]
FLOAT_BAD = ["nan", "inf", "-inf", "-1", "abc", "1e309"]


def _cases() -> list[tuple[str, list[str]]]:
  """(launcher, args) pairs; {tmp} is a fresh directory per case, {file} an
  existing file, {ckpt} a valid tic-tac-toe checkpoint, {corrupt} a workdir
  whose checkpoint is garbage, {ro} a read-only directory, {records} a
  tic-tac-toe games.jsonl and {bad_records} a garbage one, {dataset} a tiny
  CartPole Minari dataset (id DATASET_ID under {dataset_root}) and
  {bad_dataset} a copy whose files are garbage."""
  cases = []

  def add(script, *args):
    cases.append((script, list(args)))

  # Training: AlphaZero (selfplay.py).
  for flag in ("num_iterations", "selfplay_batch_size", "num_simulations", "unroll_length",
               "max_num_considered_actions", "num_channels", "train_batch_size",
               "replay_rows", "sgd_steps_per_iteration", "checkpoint_every",
               "max_checkpoints", "seed", "sample_moves", "warmup_steps"):
    for value in (["-3", OVERFLOW, "abc"] if flag not in ("num_iterations", "seed")
                  else INT_BAD):
      add("selfplay.py", *TINY, "--workdir={tmp}/w", f"--{flag}={value}")
  for flag in ("learning_rate", "weight_decay", "dirichlet_alpha", "dirichlet_fraction",
               "gumbel_scale", "value_loss_weight", "fast_search_fraction",
               "time_budget_s"):
    for value in FLOAT_BAD[:4]:
      add("selfplay.py", *TINY, "--workdir={tmp}/w", f"--{flag}={value}")
  for args in (["--search=alphabeta"], ["--torso=transformer"], ["--env=chekers"],
               ["--env=CartPole-v1"], ["--bf16=maybe"], ["--stop_at=-1"], ["--stop_at=0"],
               ["--train_batch_size=6"], ["--selfplay_batch_size=3", "--train_batch_size=6"],
               ["--num_blocks=-1"], ["--eval_every=-1"], ["--learning_rate=1e30"],
               ["stray_argument"], ["--no_such_flag=1"], ["--flagfile=/no/such.flags"]):
    add("selfplay.py", *TINY, "--workdir={tmp}/w", *args)
  for workdir in ("{file}", "", "{ro}/w", "{file}/sub", "/proc/zerogo_sweep",
                  "/sys/zerogo_sweep", "{corrupt}"):
    add("selfplay.py", *TINY, f"--workdir={workdir}")
  add("selfplay.py", *TINY)  # no --workdir at all
  add("selfplay.py", *[a for a in TINY if a != "--num_channels=4"], "--num_channels=8",
      "--workdir={ckpt}")  # a resume with another network shape

  # Training: PPO.
  for flag in ("total_steps", "num_envs", "num_steps", "num_epochs", "num_minibatches",
               "hidden", "num_layers", "num_seeds", "seed"):
    for value in ("0", "-2", OVERFLOW, "x"):
      add("ppo.py", *TINY_PPO, "--workdir={tmp}/w", f"--{flag}={value}")
  for flag in ("learning_rate", "gamma", "gae_lambda", "clip_eps", "ent_coef", "vf_coef",
               "max_grad_norm"):
    for value in ("nan", "inf", "-1"):
      add("ppo.py", *TINY_PPO, "--workdir={tmp}/w", f"--{flag}={value}")
  for args in (["--torso=cnn"], ["--activation=sigmoid2"], ["--env=minatar-pong"],
               ["--minibatch_sampling=weird"], ["--num_envs=3"], ["--env=go_9x9"],
               ["--updates_per_call=0"], ["--updates_per_call=3"]):
    add("ppo.py", *TINY_PPO, "--workdir={tmp}/w", *args)
  for workdir in ("{file}", "", "{ro}/w", "{corrupt}"):
    add("ppo.py", *TINY_PPO, f"--workdir={workdir}")

  # evaluate.py
  for args in (["--checkpoint=/no/such/run"], ["--checkpoint={file}"], ["--checkpoint="],
               ["--checkpoint={corrupt}"], ["--checkpoint={tmp}"]):
    add("evaluate.py", *args)
  for args in (["--opponent=uct:" + OVERFLOW], ["--opponent=uct:abc"], ["--opponent=uct:-1"],
               ["--opponent=alphago"], ["--opponent=gtp:cat"], ["--opponent=ckpt:/no/such"],
               ["--opponent=minimax:3"], ["--games=0"], ["--games=3"], ["--games=-2"],
               ["--games=" + OVERFLOW], ["--batch=0"], ["--batch=abc"],
               ["--num_simulations=-1"], ["--num_simulations=" + OVERFLOW],
               ["--seed=" + OVERFLOW], ["--seed=-1"], ["--seed=nan"], ["extra"]):
    add("evaluate.py", "--checkpoint={ckpt}", "--games=2", *args)

  # tournament.py
  tour = ["--out={tmp}/t", "--noprogress", "--games_per_pair=2"]
  for args in (["--env=CartPole-v1", "--agents=random,uct:2"], ["--env=chekers", "--agents=random,uct:2"],
               ["--env=", "--agents=random,uct:2"],
               ["--env=tic_tac_toe", "--agents=random"], ["--env=tic_tac_toe", "--agents="],
               ["--env=tic_tac_toe", "--agents=random,random"],
               ["--env=tic_tac_toe", "--agents=random,uct:" + OVERFLOW],
               ["--env=tic_tac_toe", "--agents=random,ckpt:{corrupt}"],
               ["--env=tic_tac_toe", "--agents=random,ckpt:{ckpt}@abc"],
               ["--env=tic_tac_toe", "--agents=random,ckpt:{ckpt}@" + OVERFLOW],
               ["--env=go_9x9", "--agents=random,ckpt:{ckpt}"],
               ["--env=go_9x9", "--agents=random,gtp:cat", "--gtp_timeout_s=5"],
               ["--env=go_9x9", "--agents=random,gtp:sleep 100", "--gtp_timeout_s=2"],
               ["--env=go_9x9", "--agents=random,gtp:/no/such/engine"],
               ["--env=go_9x9", "--agents=random,gtp:"],
               ["--env=tic_tac_toe", "--agents=random,gtp:cat"],
               ["--env=tic_tac_toe", "--agents=random,minimax", "--komi=7.5"],
               ["--env=go_9x9", "--agents=random,uct:2", "--komi=nan"],
               ["--env=go_9x9", "--agents=random,uct:2", "--komi=inf"]):
    add("tournament.py", *tour, *args)
  for flag, values in (("bootstrap", ("0", "-5", OVERFLOW)), ("seed", (OVERFLOW, "-1")),
                       ("games_per_pair", ("0", "-1", OVERFLOW)), ("batch", ("0", "3", "-2")),
                       ("opening_moves", ("-1", OVERFLOW)),
                       ("gtp_timeout_s", ("0", "-1", "nan", "inf")),
                       ("anchor", ("nobody",)), ("anchor_elo", ("nan", "inf")),
                       ("schedule", ("swiss",))):
    for value in values:
      add("tournament.py", *tour, "--env=tic_tac_toe", "--agents=random,minimax",
          f"--{flag}={value}")
  for out in ("{file}", "", "{ro}/t", "{file}/sub"):
    add("tournament.py", "--noprogress", "--games_per_pair=2", "--env=tic_tac_toe",
        "--agents=random,minimax", f"--out={out}")

  # gtp.py (a controller that closes stdin at once: the engine must exit quietly)
  for args in (["--checkpoint=/no/such"], ["--checkpoint={file}"], ["--checkpoint={ckpt}"],
               ["--checkpoint={corrupt}"], ["--checkpoint="],
               ["--checkpoint={ckpt}", "--num_simulations=-1"],
               ["--checkpoint={ckpt}", "--resign_threshold=nan"],
               ["--checkpoint={ckpt}", "--seed=" + OVERFLOW]):
    add("gtp.py", *args)

  # play.py (stdin closed: the human left)
  for args in (["--checkpoint=/no/such"], ["--checkpoint={file}"], ["--checkpoint={corrupt}"],
               ["--checkpoint=uct:2"], ["--checkpoint=uct:2", "--env=chekers"],
               ["--checkpoint=random", "--env=CartPole-v1"], ["--checkpoint={ckpt}"],
               ["--checkpoint={ckpt}", "--first=nobody"],
               ["--checkpoint={ckpt}", "--num_simulations=" + OVERFLOW],
               ["--checkpoint={ckpt}", "--seed=-1"]):
    add("play.py", *args)

  # ablate.py
  abl = ["--flagfile=launch/configs/tic_tac_toe.flags", "--name=x", "--out={tmp}/a",
         "--workdir_root={tmp}/r", "--seeds=1", "--noprogress", "--num_iterations=1",
         "--selfplay_batch_size=4", "--num_channels=4", "--num_blocks=1",
         "--train_batch_size=4", "--replay_rows=4", "--eval_every=0"]
  for args in (["--grid=num_simulations=2,2"], ["--grid=num_simulations=2", "--score_opponent=uct:abc"],
               ["--grid=num_simulations=2", "--score_opponent=gtp:cat"],
               ["--grid=num_simulations=2", "--score_opponent=minimax:1"],
               ["--grid=num_simulations=2,3", "--bogus_flag=1"], ["--grid=num_simulations=2,-3"],
               ["--grid=num_simulations=2,abc"], ["--grid=search=gumbel,alphabeta"],
               ["--grid=no_such_flag=1,2"], ["--grid=num_simulations"], ["--grid==1,2"],
               ["--grid=seed=1,2"], ["--grid=num_simulations=2", "--seeds=0"],
               ["--grid=num_simulations=2", "--seeds=" + OVERFLOW],
               ["--grid=num_simulations=2", "--base_seed=-1"],
               ["--grid=num_simulations=2", "--score_games=5"],
               ["--grid=num_simulations=2", "--score_games=0"],
               ["--grid=num_simulations=2", "--backend=slurm"],
               ["--grid=num_simulations=2", "--name=a/b"],
               ["--grid=num_simulations=2", "--out={file}"]):
    add("ablate.py", *abl, *args)
  add("ablate.py", "--name=x", "--out={tmp}/a", "--flagfile=/no/such.flags")

  # bench.py
  for bench, flag, values in (
      ("selfplay", "selfplay_batch_size", ("0", "-4", OVERFLOW)),
      ("selfplay", "num_simulations", ("-1", "0")), ("selfplay", "moves", ("0",)),
      ("learner", "train_batch_size", ("0", "-1")), ("learner", "sgd_steps", ("0",)),
      ("ppo", "num_envs", ("0",)), ("ppo", "num_steps", ("0",)),
      ("ppo", "num_minibatches", ("0",)), ("iteration", "moves", ("0",)),
      ("envs", "num_envs", ("0",)), ("selfplay", "repeats", ("0",)),
      ("selfplay", "min_sample_s", ("nan", "-1")), ("selfplay", "env", ("chekers", "CartPole-v1")),
      ("envs", "envs", ("chekers",)), ("ppo", "torso", ("transformer",))):
    for value in values:
      add("bench.py", bench, f"--{flag}={value}")
  add("bench.py", "nonsense")
  add("bench.py")

  # Training: MuZero (muzero.py), one-player CartPole with a tiny model.
  for flag, values in (("num_iterations", ("0", OVERFLOW, "abc")), ("num_envs", ("0", "1.5")),
                       ("num_simulations", ("-3",)), ("support_size", ("0",)),
                       ("td_steps", (OVERFLOW,)), ("replay_rows", ("4",)),
                       ("train_batch_size", ("3",)), ("seed", ("-1", OVERFLOW))):
    for value in values:
      add("muzero.py", *TINY_MZ, "--workdir={tmp}/w", f"--{flag}={value}")
  for flag, values in (("gamma", ("nan", "1.5")), ("learning_rate", ("inf",)),
                       ("reanalyse_fraction", ("0.1",)), ("sticky_action_prob", ("-1",))):
    for value in values:
      add("muzero.py", *TINY_MZ, "--workdir={tmp}/w", f"--{flag}={value}")
  for args in (["--search=alphabeta"], ["--torso=conv"], ["--env=chekers"],
               ["--env=tic_tac_toe", "--sticky_action_prob=0.1"], ["--time_budget_s=nan"],
               ["stray_argument"], ["--no_such_flag=1"]):
    add("muzero.py", *TINY_MZ, "--workdir={tmp}/w", *args)
  for workdir in ("{file}", "", "/proc/zerogo_sweep", "{ckpt}", "{corrupt}"):
    add("muzero.py", *TINY_MZ, f"--workdir={workdir}")

  # Training: supervised pretraining from game records (pretrain.py).
  for records in ("/no/such/games.jsonl", "{file}", "{tmp}", ",", "/dev/null", "{bad_records}",
                  "{ckpt}", "{records},/no/such"):
    add("pretrain.py", *TINY_PRE, "--workdir={tmp}/w", f"--records={records}")
  for flag, values in (("num_steps", ("0", OVERFLOW)), ("steps_per_call", ("3",)),
                       ("batch_size", ("0", OVERFLOW)), ("heldout_fraction", ("nan", "1")),
                       ("learning_rate", ("0",)), ("num_simulations", ("-1",))):
    for value in values:
      add("pretrain.py", *TINY_PRE, "--workdir={tmp}/w", f"--{flag}={value}")
  for args in (["--env=CartPole-v1"], ["--env=chekers"], ["--env=go_9x9"],
               ["--torso=transformer"], ["--players=("], ["--players=nobody"], ["stray"]):
    add("pretrain.py", *TINY_PRE, "--workdir={tmp}/w", *args)
  for workdir in ("{file}", "/proc/zerogo_sweep", "{ckpt}", "{corrupt}"):
    add("pretrain.py", *TINY_PRE, f"--workdir={workdir}")

  # Training: offline RL from a Minari dataset (offline.py).
  for dataset in ("/no/such", "{file}", "{tmp}", "", "{bad_dataset}", "{ckpt}"):
    add("offline.py", *TINY_OFF, "--workdir={tmp}/w", f"--dataset={dataset}")
  for flag, values in (("num_steps", (OVERFLOW,)), ("steps_per_call", ("3",)),
                       ("batch_size", ("0", "abc")), ("num_seeds", ("0", OVERFLOW)),
                       ("learning_rate", ("nan",)), ("gamma", ("2",)), ("cql_alpha", ("inf",)),
                       ("target_update", ("0",)), ("sticky_action_prob", ("nan",))):
    for value in values:
      add("offline.py", *TINY_OFF, "--workdir={tmp}/w", f"--{flag}={value}")
  for args in (["--env=tic_tac_toe"], ["--env=chekers"], ["--env=minatar-breakout"],
               ["--algorithm=dqn"], ["--torso=cnn"], ["--column_heads=2"],
               ["stray"]):
    add("offline.py", *TINY_OFF, "--workdir={tmp}/w", *args)
  for workdir in ("{file}", "/proc/zerogo_sweep", "{ckpt}", "{corrupt}"):
    add("offline.py", *TINY_OFF, f"--workdir={workdir}")

  # log_play.py: logging a behaviour policy as a Minari dataset.
  log = ["--env=CartPole-v1", "--episodes=2", "--max_steps=5", "--out={tmp}/d",
         "--dataset_id=zerogo/cartpole/x-v0"]
  for behaviour in ("nope", "random:-1", "random:nan", "random:inf", "breakout_tracker",
                    "ckpt:{ckpt}", "ckpt:{corrupt}", "ckpt:/no/such", ","):
    add("log_play.py", *log, f"--behaviour={behaviour}")
  for args in (["--episodes=0"], ["--episodes=" + OVERFLOW], ["--episodes=abc"],
               ["--max_steps=" + OVERFLOW], ["--seed=-1"], ["--seed=" + OVERFLOW],
               ["--env=chekers"], ["--env=tic_tac_toe"], ["--out={file}"],
               ["--out=/proc/zerogo_sweep"], ["--dataset_id=x"],
               ["--dataset_id=../../escape-v0"], ["stray"]):
    add("log_play.py", *log, "--behaviour=random", *args)
  add("log_play.py", "--env=CartPole-v1", "--behaviour=random", "--out={tmp}/d")  # no id
  add("log_play.py", "--env=CartPole-v1", "--behaviour=random", "--episodes=1",
      "--out={dataset_root}", "--dataset_id=" + DATASET_ID)  # the id exists

  # serve.py: only arguments that must fail before the server starts.
  for args in (["--port=0"], ["--port=65536"], ["--port=" + OVERFLOW], ["--port=abc"],
               ["--num_simulations=-1"], ["--num_simulations=" + OVERFLOW],
               ["--games=/no/such"], ["--games={file}"],
               ["--checkpoint=/no/such"], ["--checkpoint={file}"], ["--checkpoint={corrupt}"],
               ["--checkpoint={tmp}"], ["stray"]):
    add("serve.py", *args)

  # record.py: a GIF of one game or episode.
  for args in (["--checkpoint=/no/such"], ["--checkpoint={corrupt}"], ["--checkpoint={tmp}"],
               ["--checkpoint=uct:2"], ["--checkpoint=uct:abc", "--env=tic_tac_toe"],
               ["--checkpoint=uct:" + OVERFLOW, "--env=tic_tac_toe"],
               ["--checkpoint=random", "--env=chekers"],
               ["--checkpoint=random", "--env=CartPole-v1"],
               ["--checkpoint={ckpt}", "--env=connect_four"],
               ["--checkpoint={ckpt}", "--opponent=uct:abc"],
               ["--checkpoint={ckpt}", "--opponent={corrupt}"],
               ["--checkpoint={ckpt}", "--every=0"],
               ["--checkpoint={ckpt}", "--every=" + OVERFLOW],
               ["--checkpoint={ckpt}", "--frame_ms=" + OVERFLOW],
               ["--checkpoint={ckpt}", "--num_simulations=-1"],
               ["--checkpoint={ckpt}", "--num_simulations=" + OVERFLOW],
               ["--checkpoint={ckpt}", "--seed=-1"],
               ["--checkpoint={ckpt}", "--seed=" + OVERFLOW], ["--checkpoint={ckpt}", "stray"]):
    add("record.py", "--out={tmp}/x.gif", *args)
  for out in ("{tmp}/x.png", "/proc/zerogo_sweep/x.gif", "{file}/x.gif"):
    add("record.py", "--checkpoint={ckpt}", f"--out={out}")
  add("record.py", "--checkpoint={ckpt}")  # no --out

  # Training: RLHF (rlhf.py), synthetic rater on CartPole.
  for flag, values in (("total_steps", ("0", OVERFLOW)), ("clip_length", ("100",)),
                       ("clips_per_query", ("1", OVERFLOW)), ("total_labels", (OVERFLOW,)),
                       ("label_fraction", ("0", "nan")), ("rater_temperature", ("inf",)),
                       ("rater_mistake_rate", ("2",)), ("reward_ensemble", (OVERFLOW,)),
                       ("reward_learning_rate", ("nan",)), ("heldout_every", ("1",)),
                       ("kl_coef", ("-1",)), ("num_seeds", ("2",))):
    for value in values:
      add("rlhf.py", *TINY_RLHF, "--workdir={tmp}/w", f"--{flag}={value}")
  for args in (["--rater=robot"], ["--env=minatar-breakout", "--rater_objective=centre"],
               ["--rater=ai"], ["--rater_checkpoint={tmp}"],
               ["--rater=ai", "--rater_checkpoint=/no/such"],
               ["--rater=ai", "--rater_checkpoint={ckpt}"],
               ["--rater=ai", "--rater_checkpoint={corrupt}"], ["--rater=human"],
               ["--env=tic_tac_toe"], ["--init_from={ckpt}"], ["--init_from={corrupt}"],
               ["stray"]):
    add("rlhf.py", *TINY_RLHF, "--workdir={tmp}/w", *args)
  for workdir in ("{file}", "", "/proc/zerogo_sweep", "{ckpt}", "{corrupt}"):
    add("rlhf.py", *TINY_RLHF, f"--workdir={workdir}")
  return cases


def _tic_tac_toe_games(path: str, count: int = 12) -> None:
  """A games.jsonl (launch/tournament.py's format) of `count` tic-tac-toe
  games of random legal moves."""
  import json
  rng = random.Random(0)
  lines = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8),
           (2, 4, 6)]
  with open(path, "w") as f:
    for number in range(count):
      board, moves, winner = [None] * 9, [], None
      while winner is None and len(moves) < 9:
        cell = rng.choice([c for c in range(9) if board[c] is None])
        board[cell] = len(moves) % 2
        moves.append(cell)
        if any(board[a] is not None and board[a] == board[b] == board[c] for a, b, c in lines):
          winner = board[cell]
      score = 0.5 if winner is None else 1.0 - winner
      f.write(json.dumps({"game": number + 1, "first": "x", "second": "o",
                          "moves": [str(m + 1) for m in moves], "score_first": score}) + "\n")


def _garble(directory: str) -> None:
  for dirpath, _, files in os.walk(directory):
    for name in files:
      with open(os.path.join(dirpath, name), "wb") as f:
        f.write(b"\x00garbage")


def _setup(base: str, cases=None) -> dict:
  """The shared fixtures the cases refer to (the dataset only when a case
  in `cases` needs it: logging it takes a subprocess)."""
  sys.path.insert(0, os.path.join(ROOT, "tests"))
  sys.path.insert(0, ROOT)
  from conftest import untrained_checkpoint
  paths = {"file": os.path.join(base, "a_file"), "ro": os.path.join(base, "readonly"),
           "ckpt": os.path.join(base, "ckpt"), "corrupt": os.path.join(base, "corrupt"),
           "records": os.path.join(base, "games.jsonl"),
           "bad_records": os.path.join(base, "bad_games.jsonl"),
           "dataset_root": os.path.join(base, "datasets"),
           "dataset": os.path.join(base, "datasets", DATASET_ID),
           "bad_dataset": os.path.join(base, "bad_dataset")}
  with open(paths["file"], "w") as f:
    f.write("not a directory\n")
  _tic_tac_toe_games(paths["records"])
  with open(paths["bad_records"], "w") as f:
    f.write('{"game": 1, "moves": ["10", "x"]}\nnot json at all\n{"moves": 3}\n')
  text = " ".join(" ".join(args) for _, args in (cases or []))
  if "{dataset" in text or "{bad_dataset}" in text:
    subprocess.run([sys.executable, os.path.join(ROOT, "launch", "log_play.py"),
                    "--env=CartPole-v1", "--behaviour=random", "--episodes=4",
                    "--max_steps=20", f"--out={paths['dataset_root']}",
                    f"--dataset_id={DATASET_ID}"], check=True, cwd=ROOT,
                   capture_output=True, env=dict(os.environ, JAX_NUM_CPU_DEVICES="1"))
    shutil.copytree(paths["dataset"], paths["bad_dataset"])
    _garble(paths["bad_dataset"])
  os.makedirs(paths["ro"])
  untrained_checkpoint(paths["ckpt"], "tic_tac_toe", num_channels=4, num_blocks=1)
  shutil.copytree(paths["ckpt"], paths["corrupt"])
  _garble(os.path.join(paths["corrupt"], "checkpoints"))
  os.chmod(paths["ro"], 0o555)
  return paths


def classify(returncode: int | None, output: str, stderr: str) -> str:
  if returncode is None:
    return "hang"
  if "Traceback" in output:
    return "traceback"
  if returncode == 0:
    return "success"
  lines = [line for line in stderr.strip().splitlines() if line.strip()]
  last = lines[-1].strip() if lines else ""
  if last and len(last) < 600 and "Traceback" not in last:
    return "clean"
  return "unclear"


def run_case(script: str, args: list[str], paths: dict, timeout_s: float):
  tmp = tempfile.mkdtemp(prefix="case_", dir=paths["base"])
  argv = [a.format(tmp=tmp, **paths) for a in args]
  env = dict(os.environ, JAX_NUM_CPU_DEVICES="1", PYTHONUNBUFFERED="1",
             PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
  started = time.time()
  proc = subprocess.Popen(["nice", "-n", "10", sys.executable,
                           os.path.join(ROOT, "launch", script), *argv],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, errors="replace", env=env,
                          cwd=ROOT, start_new_session=True)
  try:
    out, err = proc.communicate(timeout=timeout_s)
    code = proc.returncode
  except subprocess.TimeoutExpired:
    os.killpg(proc.pid, 9)
    out, err = proc.communicate()
    code = None
  category = classify(code, out + err, err)
  last = next((line for line in reversed(err.strip().splitlines()) if line.strip()), "")
  shutil.rmtree(tmp, ignore_errors=True)
  return {"launcher": script, "args": args, "category": category, "exit": code,
          "last": last.strip()[:300], "seconds": round(time.time() - started, 1)}


def sweep(cases, jobs: int = 2, timeout_s: float = 180, log=print,
          on_result=None) -> list[dict]:
  base = tempfile.mkdtemp(prefix="bad_input_sweep_")
  try:
    paths = dict(_setup(base, cases), base=base)
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
      futures = [pool.submit(run_case, s, a, paths, timeout_s) for s, a in cases]
      results = []
      for i, future in enumerate(futures):
        results.append(future.result())
        r = results[-1]
        log(f"[{i + 1}/{len(cases)}] {r['category']:9s} {r['seconds']:6.1f}s "
            f"{r['launcher']} {' '.join(r['args'][-2:])} :: {r['last'][:120]}", flush=True)
        if on_result:
          on_result(results)
    return results
  finally:
    os.chmod(os.path.join(base, "readonly"), 0o755) if os.path.isdir(
        os.path.join(base, "readonly")) else None
    shutil.rmtree(base, ignore_errors=True)


def counts(results) -> dict:
  out = {}
  for r in results:
    out[r["category"]] = out.get(r["category"], 0) + 1
  return out


def write_markdown(path: str, results, command: str, wall_s: float) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  c = counts(results)
  lines = ["# Bad-input sweep (issue 23)", "", "Command:", "", f"    {command}", "",
           f"Machine: {platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, "
           f"shared), Python {platform.python_version()}. Date: "
           f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. "
           f"Wall time {wall_s / 60:.1f} min.", "",
           f"{len(results)} cases: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())) + ".",
           "", "clean: non-zero exit, the last stderr line one sentence, no traceback; "
           "success: exit 0; traceback: a Python traceback in the output; unclear: non-zero "
           "exit without a one-sentence last line; hang: killed at the timeout.", "",
           "Run as root here, so the read-only directory cases ({ro}) are writable and "
           "succeed; /proc and /sys paths stand in for unwritable ones.", "",
           "| # | launcher | arguments (after the fixed tiny config) | outcome | exit | last stderr line |",
           "|---|---|---|---|---|---|"]
  for i, r in enumerate(results, 1):
    args = " ".join(a for a in r["args"] if a not in TINY_ALL)
    cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines.append(f"| {i} | {r['launcher']} | `{cell(args)}` | {r['category']} | "
                 f"{r['exit']} | {cell(r['last'][:160])} |")
  with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--jobs", type=int, default=2)
  parser.add_argument("--timeout_s", type=float, default=180)
  parser.add_argument("--only", default="")
  parser.add_argument("--sample", type=int, default=0)
  parser.add_argument("--cases", default="", help="comma-separated case numbers (1-based, "
                      "as in the table) to run again")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--out", default=os.path.join(ROOT, "results", "hardening", "README.md"))
  args = parser.parse_args()
  cases = [c for c in _cases() if args.only in " ".join([c[0], *c[1]])]
  if args.cases:
    cases = [cases[int(i) - 1] for i in args.cases.split(",")]
  if args.sample:
    cases = random.Random(args.seed).sample(cases, min(args.sample, len(cases)))
  started = time.time()
  full = not args.only and not args.sample and not args.cases
  command = "python tests/bad_input_sweep.py"

  def partial(results):  # the table so far, should the sweep be cut short
    if full and args.out:
      write_markdown(args.out, results, command + f" (partial: {len(results)} of "
                     f"{len(cases)} cases)", time.time() - started)

  results = sweep(cases, args.jobs, args.timeout_s, on_result=partial)
  c = counts(results)
  print("counts:", ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
  for r in results:
    if r["category"] not in ("clean", "success"):
      print(f"  {r['category']}: {r['launcher']} {' '.join(r['args'])} :: {r['last']}")
  if full and args.out:
    write_markdown(args.out, results, command, time.time() - started)
  return 1 if c.get("traceback") or c.get("hang") else 0


if __name__ == "__main__":
  sys.exit(main())
