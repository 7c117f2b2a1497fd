"""Latency of the web board's agent move (POST /api/games/{id}/reply), the
request the page makes after each of your moves, at each flagfile's default
search budget, on this machine's CPU.

  JAX_PLATFORMS=cpu python results/scripts/web_latency.py [--moves=20]

For each game it writes an iteration-0 checkpoint with the flagfile's
network and search (the time of a move does not depend on the weights),
serves it in-process (FastAPI TestClient, the same app serve.py runs) and
times the first reply (compilation included) and then `--moves` replies in
play. Prints one markdown table row per game.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

FLAGFILES = {"tic_tac_toe": "tic_tac_toe.flags", "connect_four": "connect_four.flags",
             "go_9x9": "go_9x9.flags"}


def measure(env_id: str, moves: int) -> dict:
  import jax
  from fastapi.testclient import TestClient

  from agents import alphazero, load_agent
  from agents.web import app, sessions
  from launch import _common
  from zerogo import checkpoint, loop
  args = [f"--flagfile={os.path.join(ROOT, 'launch', 'configs', FLAGFILES[env_id])}"]
  config = _common.config_from_args(alphazero.AlphaZeroConfig, args)
  mesh = jax.make_mesh((1,), ("data",), devices=jax.devices()[:1])
  import dataclasses
  config = dataclasses.replace(config, selfplay_batch_size=4, replay_rows=2,
                               train_batch_size=4)
  workdir = tempfile.mkdtemp(prefix=f"web-latency-{env_id}-")
  az = alphazero.AlphaZero(config, mesh)
  ckpt = checkpoint.Checkpointer(checkpoint.checkpoint_dir(workdir))
  loop.save(ckpt, az, az.init(), 0)
  ckpt.close()
  agent = load_agent(workdir)
  client = TestClient(app.make_app(sessions.Opponents({"agent": agent})))
  view = client.post("/api/games", json={"env": env_id, "opponent": "agent",
                                         "first": "agent", "seed": 0}).json()
  times = []
  while len(times) < moves + 1:
    if view["result"]:
      view = client.post("/api/games", json={"env": env_id, "opponent": "agent",
                                             "first": "agent", "seed": len(times)}).json()
    if view["to_move"] == "agent":
      started = time.perf_counter()
      response = client.post(f"/api/games/{view['id']}/reply")
      times.append(time.perf_counter() - started)
      assert response.status_code == 200, response.text
    else:
      legal = view["legal"]
      response = client.post(f"/api/games/{view['id']}/move",
                             json={"action": legal[len(times) % len(legal)]["action"]})
    view = response.json()
  steady = times[1:]
  return {"env": env_id, "simulations": agent.num_simulations, "first_s": times[0],
          "median_s": statistics.median(steady), "max_s": max(steady), "moves": len(steady)}


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--moves", type=int, default=20)
  parser.add_argument("--games", default=",".join(FLAGFILES))
  args = parser.parse_args()
  print("| game | simulations (flagfile default) | first reply (compiles) | median reply | "
        "slowest reply | replies timed |")
  print("| --- | --- | --- | --- | --- | --- |")
  for env_id in args.games.split(","):
    r = measure(env_id, args.moves)
    print(f"| {r['env']} | {r['simulations']} | {r['first_s']:.2f} s | "
          f"{1000 * r['median_s']:.0f} ms | {1000 * r['max_s']:.0f} ms | {r['moves']} |",
          flush=True)


if __name__ == "__main__":
  main()
