"""The web board's API (FastAPI TestClient): play, think, undo, resign,
tabs that do not share state, recorded games, episodes; a fuzz test of
thousands of hostile requests; serve.py and record.py from the shell."""

import json
import random
import threading

import pytest

from conftest import run_launcher, untrained_checkpoint


@pytest.fixture(scope="module")
def tournament_dir(tmp_path_factory):
  """A tic-tac-toe tournament directory (games.jsonl + standings.md), a Go
  SGF directory, and a secret file next to them that must stay unserved."""
  from zerogo import records, sgf
  root = tmp_path_factory.mktemp("library")
  tour = root / "tour"
  tour.mkdir()
  log = records.GameLog(str(tour), "tic_tac_toe")
  log.add("minimax", "random", [4, 0, 8, 2, 1, 7, 6], 1.0, "end")
  log.add("random", "minimax", [0, 4, 8, 2, 6, 3, 5, 1, 7], 0.5, "end")
  log.close()
  (tour / "standings.md").write_text("# Tournament: tic_tac_toe\n\n| 1 | `minimax` |\n")
  go_dir = root / "go"
  (go_dir / "sgf").mkdir(parents=True)
  (go_dir / "sgf" / "game_00001.sgf").write_text(sgf.write(sgf.GameRecord(
      size=9, komi=7.5, moves=[40, 30, 81, 81], black="a", white="b", result="B+R")))
  (root / "secret.txt").write_text("do not serve me")
  return root


@pytest.fixture(scope="module")
def board(tmp_path_factory, tournament_dir):
  import envs
  from agents import baselines, load_agent
  from agents.web import app, library, sessions
  workdir = untrained_checkpoint(str(tmp_path_factory.mktemp("az")), "tic_tac_toe")
  loaded = {"az": load_agent(workdir),
            "breakout-random": baselines.random_agent(envs.make("minatar-breakout"))}
  lib = library.Library([str(tournament_dir / "tour"), str(tournament_dir / "go")])
  return app.make_app(sessions.Opponents(loaded), lib)


@pytest.fixture(scope="module")
def client(board):
  from fastapi.testclient import TestClient
  return TestClient(board, raise_server_exceptions=False)


def _new(client, **body):
  response = client.post("/api/games", json={"env": "tic_tac_toe", "opponent": "minimax",
                                             **body})
  assert response.status_code == 200, response.text
  return response.json()


def test_config_offers_loaded_agents_and_baselines(client):
  config = client.get("/api/config").json()
  ttt = next(g for g in config["games"] if g["env"] == "tic_tac_toe")
  assert ttt["opponents"][:2] == ["az", "minimax"] and "random" in ttt["opponents"]
  assert config["one_player"] == ["breakout-random"]
  assert [d["games"] for d in config["libraries"]] == [2, 0]
  assert client.get("/").headers["content-type"].startswith("text/html")


def test_a_game_against_the_loaded_agent_shows_its_thinking(client):
  view = _new(client, opponent="az", first="agent")
  assert view["to_move"] == "agent" and view["you"] == "O"
  view = client.post(f"/api/games/{view['id']}/reply").json()
  assert view["to_move"] == "you" and [m["by"] for m in view["moves"]] == ["agent"]
  analysis = view["analysis"]
  assert -1 <= analysis["value"] <= 1 and analysis["for"] == "agent"
  assert analysis["top"][0]["move"] == view["moves"][0]["move"]
  assert abs(sum(t["share"] for t in analysis["top"]) - 1) < 0.02  # 9 moves <= TOP_MOVES
  assert 'class="share"' in view["svg"] and view["svg"].count('class="cell"') == 8
  # On request: the agent's view of the person's position.
  hint = client.post(f"/api/games/{view['id']}/analyse").json()
  assert hint["analysis"]["for"] == "you" and hint["moves"] == view["moves"]


def test_moves_undo_resign_and_refusals(client):
  view = _new(client)
  gid = view["id"]
  assert client.post(f"/api/games/{gid}/reply").status_code == 400  # your turn
  view = client.post(f"/api/games/{gid}/move", json={"move": "5"}).json()
  assert client.post(f"/api/games/{gid}/move", json={"action": 0}).status_code == 400
  view = client.post(f"/api/games/{gid}/reply").json()
  assert view["analysis"]["value"] == 0.0  # minimax: the centre opening draws
  for bad in ({"move": "5"}, {"action": 4}, {"move": "10"}, {"action": 9}, {"move": "x"},
              {}, {"move": "1", "action": 0}):
    response = client.post(f"/api/games/{gid}/move", json=bad)
    assert response.status_code in (400, 422), (bad, response.text)
    assert response.json()["detail"]
  view = client.post(f"/api/games/{gid}/undo").json()
  assert view["moves"] == [] and view["to_move"] == "you"
  assert client.post(f"/api/games/{gid}/undo").status_code == 400
  view = client.post(f"/api/games/{gid}/resign").json()
  assert view["result"]["score"] == 0.0 and view["to_move"] is None
  assert client.post(f"/api/games/{gid}/move", json={"move": "1"}).status_code == 400
  assert client.post(f"/api/games/{gid}/undo").json()["result"] is None


def test_every_tab_has_its_own_game(client):
  """Eight games at once, each on its own thread, none sees another's moves."""
  finished = {}

  def play(index):
    view = _new(client, opponent="random", seed=index)
    while not view["result"]:
      if view["to_move"] == "you":
        view = client.post(f"/api/games/{view['id']}/move",
                           json={"action": view["legal"][index % len(view["legal"])]["action"]}
                           ).json()
      else:
        view = client.post(f"/api/games/{view['id']}/reply").json()
    finished[view["id"]] = view

  threads = [threading.Thread(target=play, args=(i,)) for i in range(8)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  assert len(finished) == 8
  for gid, view in finished.items():
    again = client.get(f"/api/games/{gid}").json()
    assert again["moves"] == view["moves"] and again["result"] == view["result"]
    assert [m["by"] for m in view["moves"]][::2] == ["you"] * len(view["moves"][::2])


def test_recorded_games_replay_and_nothing_else_is_served(client):
  listing = client.get("/api/library/0").json()
  assert listing["env"] == "tic_tac_toe" and "minimax" in listing["standings"]
  assert [g["game"] for g in listing["game_list"]] == [1, 2]
  position = client.get("/api/library/0/games/1?ply=3").json()
  assert position["ply"] == 3 and position["plies"] == 7 and position["moves"][:3] == \
      ["5", "1", "9"]
  assert client.get("/api/library/0/games/1?ply=99").json()["ply"] == 7  # clamped
  go = client.get("/api/library/1").json()
  assert go["env"] == "go_9x9" and go["sgf_files"] == ["sgf/game_00001.sgf"]
  position = client.get("/api/library/1/sgf/sgf/game_00001.sgf?ply=4").json()
  assert position["moves"] == ["E5", "D6", "pass", "pass"] and position["result"] == "B+R"
  for path in ("/api/library/0/sgf/../secret.txt", "/api/library/0/sgf/..%2F..%2Fsecret.txt",
               "/api/library/1/sgf/../../secret.txt", "/api/library/1/sgf/%2e%2e/secret.txt",
               "/api/library/1/sgf//etc/passwd", "/api/library/1/sgf/sgf%2F..%2F..%2Fsecret.txt",
               "/static/../secret.txt", "/static/%2e%2e/%2e%2e/secret.txt",
               "/api/library/2", "/api/library/-1", "/api/library/0/games/3"):
    response = client.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert "do not serve me" not in response.text


def test_one_player_episode_frames_and_gif(client, tmp_path):
  data = client.get("/api/episode?agent=breakout-random&seed=1").json()
  assert data["env"] == "minatar-breakout" and len(data["frames"]) == len(data["actions"]) + 1
  assert data["frames"][0].startswith("data:image/png;base64,")
  assert client.get("/api/episode?agent=az").status_code == 404
  from PIL import Image

  import envs
  from agents import baselines, recording
  from envs import frames
  played = recording.episode(baselines.random_agent(envs.make("CartPole-v1")), 0, max_steps=40)
  frames.save_gif(recording.frames(played, every=2), str(tmp_path / "cartpole.gif"))
  with Image.open(tmp_path / "cartpole.gif") as gif:
    assert gif.n_frames == len(range(0, len(played.states), 2)) + \
        ((len(played.states) - 1) % 2 != 0)


def _hostile_requests(rng, game_id):
  """(method, path, body bytes or None, headers) of random malformed traffic."""
  junk = ["", "0", "-1", "99999999999999999999", "abc", "../../etc/passwd", "%2e%2e%2f",
          "..%2F..%2Fsecret.txt", "\u00e9\u6f22", "null", "1e308", "NaN", "%00", "a" * 300,
          game_id, game_id + "x", "<script>", "' OR 1=1 --"]
  paths = ["/api/games", "/api/games/{j}", "/api/games/{g}/move", "/api/games/{g}/reply",
           "/api/games/{g}/undo", "/api/games/{g}/resign", "/api/games/{g}/analyse",
           "/api/games/{j}/move", "/api/library/{j}", "/api/library/0/games/{j}?ply={j}",
           "/api/library/1/sgf/{j}", "/api/library/{j}/sgf/{j}", "/api/episode?agent={j}",
           "/api/episode?agent=breakout-random&seed={j}", "/static/{j}", "/{j}", "/api/config"]
  values = [None, True, 0, -1, 4, 8, 9, 2**40, -2**63, 1.5, float("inf"), "", "5", "e5",
            "pass", "x" * 5000, [], {}, [4], {"a": 1}, "minimax", "random", "uct:1",
            "uct:0", "uct:999999", "tic_tac_toe", "go_9x9", "chess", "you", "agent"]
  fields = ["env", "opponent", "first", "seed", "move", "action", "extra", "__proto__"]
  for _ in range(3000):
    path = rng.choice(paths).replace("{g}", game_id)
    while "{j}" in path:
      path = path.replace("{j}", rng.choice(junk), 1)
    route = path.split("?")[0]
    expects_post = route.startswith("/api/games") and route.count("/") != 3
    method = (("POST" if expects_post else "GET") if rng.random() < 0.8
              else rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"]))
    kind = rng.random()
    headers = {"content-type": "application/json"}
    if kind < 0.45:
      body = {f: rng.choice(values) for f in rng.sample(fields, rng.randint(0, 4))}
      data = json.dumps(body, allow_nan=True).encode()
    elif kind < 0.6:
      data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
    elif kind < 0.7:
      data = b'{"env": "tic_tac_toe", "opponent": "minimax"'  # cut short
    elif kind < 0.75:
      data = b"[" * 5000 + b"]" * 5000  # deep nesting
    elif kind < 0.8:
      data = b'{"move": "' + b"A" * 40000 + b'"}'  # over the body limit
    elif kind < 0.85:
      data, headers = b"move=5", {"content-type": "application/x-www-form-urlencoded"}
    elif kind < 0.9:
      data, headers = b'{"action": 4}', {"content-type": "application/json",
                                          "content-length": "99999999"}
    else:
      data = None
    yield method, path, data, headers


def test_fuzz_thousands_of_hostile_requests_never_5xx(board):
  """3000 random and malformed requests: every answer is < 500, and the
  server still plays a normal game afterwards."""
  from fastapi.testclient import TestClient
  client = TestClient(board, raise_server_exceptions=False)
  rng = random.Random(0)
  game_id = _new(client, opponent="random", seed=5)["id"]
  statuses = {}
  for method, path, data, headers in _hostile_requests(rng, game_id):
    try:
      response = client.request(method, path, content=data, headers=headers)
    except Exception as e:  # noqa: BLE001 (the transport refused the request itself)
      statuses.setdefault(f"client: {type(e).__name__}", 0)
      statuses[f"client: {type(e).__name__}"] += 1
      continue
    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    assert response.status_code < 500, (method, path, data and data[:200], response.text)
  print("fuzz statuses:", dict(sorted(statuses.items(), key=str)))
  assert sum(v for k, v in statuses.items() if isinstance(k, int)) >= 2900
  assert sum(v for k, v in statuses.items() if isinstance(k, int) and 400 <= k < 500) > 1000
  view = _new(client)
  view = client.post(f"/api/games/{view['id']}/move", json={"move": "5"}).json()
  assert client.post(f"/api/games/{view['id']}/reply").status_code == 200


@pytest.mark.parametrize("args, message", [
    (["--checkpoint=/no/such/run"], "/no/such/run"),
    (["--port=70000"], "--port must be between 1 and 65535"),
    (["--games=/no/such/dir"], "--games=/no/such/dir is not a directory"),
    (["--num_simulations=-3"], "-3 is not an integer in the range [0, 1000000]"),
])
def test_serve_bad_input_is_one_sentence(args, message):
  proc = run_launcher("serve.py", *args, check=False, timeout=120)
  assert proc.returncode == 2, proc.stderr
  assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
  assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_record_writes_a_gif(tmp_path):
  from PIL import Image
  out = tmp_path / "ttt.gif"
  proc = run_launcher("record.py", "--checkpoint=minimax", "--env=tic_tac_toe",
                      "--opponent=random", f"--out={out}", timeout=300)
  assert "frames" in proc.stdout
  with Image.open(out) as gif:
    assert gif.n_frames >= 6
  proc = run_launcher("record.py", "--checkpoint=random", "--env=chess",
                      f"--out={tmp_path}/x.gif", check=False)
  assert proc.returncode == 2 and "no frame drawing for chess" in proc.stderr


def test_board_svg_cells_overlay_and_go_sizes_pgx_does_not_draw():
  import jax

  import envs
  from envs import board_svg, frames
  env = envs.make("connect_four")
  state = env.step(env.init(jax.random.PRNGKey(0)), 3, jax.random.PRNGKey(0))
  svg = board_svg.board_svg("connect_four", state, shares={3: 0.6, 0: 0.4}, last_move=3,
                            clickable=True)
  assert svg.count('class="cell"') == 7 and 'data-move="4"' in svg
  assert ">60%<" in svg and ">40%<" in svg and 'class="last-move"' in svg
  geo = board_svg.geometry("connect_four")
  # Column 4 (action 3) has one stone: the next lands on row 4, one above the bottom.
  assert board_svg._landing_rows(state)[3] == 4 and geo.centre(3, 4) == (140, 175)
  assert board_svg.geometry("chess") is None
  for env_id in ("go_7x7", "go_13x13"):  # pgx's renderer only knows 9x9 and 19x19
    go_env = envs.make(env_id)
    svg = board_svg.board_svg(env_id, go_env.init(jax.random.PRNGKey(0)), clickable=True)
    size = int(env_id.split("x")[1])
    assert svg.count('class="cell"') == size * size
    assert frames.frame(env_id, go_env.init(jax.random.PRNGKey(0))).size == \
        (size * frames.CELL,) * 2
