"""Go plumbing: coordinates, area scoring, SGF, notation, GTP engine."""

import io
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sgfmill.boards
import sgfmill.sgf

import envs
from agents import baselines, specs
from conftest import run_launcher
from envs import go, notation
from zerogo import arena, gtp, sgf

GNUGO = "/usr/games/gnugo"


def test_coordinates_round_trip_on_every_point():
  for size in (9, 19):
    for action in range(size * size + 1):
      vertex = go.action_to_vertex(action, size)
      assert go.vertex_to_action(vertex, size) == action
      assert go.vertex_to_action(vertex.lower(), size) == action
      assert go.sgf_to_action(go.action_to_sgf(action, size), size) == action
  assert go.action_to_vertex(0, 9) == "A9" and go.action_to_vertex(80, 9) == "J1"
  assert go.action_to_vertex(8, 19) == "J19"  # no I column
  for bad in ("I5", "A10", "Z1", "A0", "", "D", "4D"):
    with pytest.raises(ValueError):
      go.vertex_to_action(bad, 9)


def _random_games(env, n, key, final_fn=lambda state: ()):
  """n random games played to the end: (final states, summed rewards [n, 2],
  final_fn of each final state)."""
  @jax.jit
  def play(key):
    states = jax.vmap(env.init)(jax.random.split(key, n))
    def move(carry, k):
      s, total = carry
      a = baselines.random_agent(env).apply((), s, k)
      s = jax.vmap(env.step)(s, a, jax.random.split(k, n))
      return (s, total + s.rewards), None  # pgx zeroes rewards after the end
    (s, total), _ = jax.lax.scan(move, (states, jnp.zeros((n, 2))),
                                 jax.random.split(key, env.max_game_length))
    return s, total, jax.vmap(final_fn)(s)
  return jax.device_get(play(key))


def test_area_score_agrees_with_pgx_on_finished_random_games():
  env = envs.make("go_9x9")
  n = 16
  finals, totals, _ = _random_games(env, n, jax.random.PRNGKey(0))
  assert finals.terminated.all()
  checked = 0
  for i in range(n):
    state = jax.tree.map(lambda x: x[i], finals)
    if bool(state._x.is_psk):
      continue  # superko ends the game with no count
    score = go.area_score(go.stones(state), env.komi)
    black_reward = float(totals[i][go.black_player(state)])
    assert np.sign(score) == black_reward, (i, score, black_reward)
    checked += 1
  assert checked >= 12


def test_sgf_round_trip_and_sgfmill_replays_it():
  env = envs.make("go_9x9")
  rand = baselines.random_agent(env)
  result = jax.device_get(arena.play_match(rand, rand, jax.random.PRNGKey(3), 2))
  actions = [int(a) for a in result.actions[0] if a >= 0]
  state = jax.tree.map(lambda x: x[0], arena.replay_final(env, result.actions))
  record = sgf.GameRecord(size=9, komi=7.5, moves=actions, black="b]lack", white="w\\hite",
                          result="B+R")
  text = sgf.write(record)
  back = sgf.read(text)
  assert back.moves == actions and back.black == "b]lack" and back.white == "w\\hite"
  game = sgfmill.sgf.Sgf_game.from_bytes(text.encode())
  assert game.get_size() == 9 and game.get_komi() == 7.5
  board = sgfmill.boards.Board(9)
  for node in game.get_main_sequence()[1:]:
    colour, point = node.get_move()
    if point is not None:
      board.play(point[0], point[1], colour)
  assert np.array_equal(_sgfmill_stones(board), go.stones(state))
  with pytest.raises(ValueError):
    sgf.read("(;GM[1]SZ[9];B[aa];B[bb])")
  with pytest.raises(ValueError):
    sgf.read("not sgf")


def _sgfmill_stones(board) -> np.ndarray:
  size = board.side
  out = np.zeros((size, size), np.int8)
  for row in range(size):
    for col in range(size):
      colour = board.get(row, col)  # row 0 is the bottom in sgfmill
      out[size - 1 - row, col] = {"b": 1, "w": -1}.get(colour, 0)
  return out


def test_notation_round_trips_and_rejects_bad_input():
  for env_id in ("tic_tac_toe", "connect_four", "othello", "go_9x9", "chess"):
    env = envs.make(env_id)
    state = env.init(jax.random.PRNGKey(0))
    for text in notation.legal_moves(env_id, state):
      assert notation.move_to_text(env_id, notation.text_to_move(env_id, text, state)) == text
    assert isinstance(notation.render(env_id, state), str)
    for bad in ("", "xyz", "99999"):
      with pytest.raises(ValueError):
        notation.text_to_move(env_id, bad, state)
  c4 = envs.make("connect_four")
  s = c4.step(c4.init(jax.random.PRNGKey(0)), jnp.int32(3), jax.random.PRNGKey(0))
  assert notation.render("connect_four", s).splitlines()[5] == "|. . . X . . .|"


def test_agent_specs_parse_and_reject():
  assert specs.parse("ckpt:runs/a@64") == specs.Spec("ckpt", "runs/a", 64, "ckpt:runs/a@64")
  assert specs.parse("ckpt:runs/a").simulations is None
  assert specs.parse("uct:200").simulations == 200
  assert specs.parse("gtp:/usr/games/gnugo --mode gtp").arg == "/usr/games/gnugo --mode gtp"
  for bad in ("uct", "uct:0", "uct:x", "ckpt:", "ckpt:a@b", "gtp:", "alphago", "random:3"):
    with pytest.raises(ValueError):
      specs.parse(bad)


def test_gtp_engine_answers_exactly_as_the_spec_says(go_engine):
  _, engine = go_engine
  say = lambda line: engine.handle(line)
  assert say("protocol_version") == "= 2\n\n"
  assert say("7 name") == "=7 zerogo\n\n"
  assert say("known_command genmove") == "= true\n\n"
  assert say("known_command fly") == "= false\n\n"
  assert set(say("list_commands")[2:].split()) == set(gtp.COMMANDS)
  assert say("# a comment") is None and say("   ") is None
  assert say("boardsize 19") == "? unacceptable size\n\n"
  assert say("boardsize 9") == "=\n\n"
  assert say("3 komi 6.5") == "=3\n\n" and engine.komi == 6.5
  assert say("komi lots") .startswith("? syntax error")
  assert say("play b D4") == "=\n\n"
  assert say("play w D4") == "? illegal move\n\n"
  assert say("play w Z99").startswith("? syntax error")
  assert say("play purple D5").startswith("? invalid color")
  assert say("frobnicate") == "? unknown command\n\n"
  assert say("12 frobnicate") == "?12 unknown command\n\n"
  assert say("time_settings 0 10 1") == "=\n\n" and say("time_left b 10 0") == "=\n\n"
  reply = say("genmove w")
  assert reply.startswith("= ") and reply.endswith("\n\n")
  vertex = reply[2:].strip()
  assert vertex == "pass" or go.vertex_to_action(vertex, 9) != go.vertex_to_action("D4", 9)
  assert "X" in say("showboard")
  assert say("undo") == "=\n\n" and say("undo") == "=\n\n" and say("undo") == "? cannot undo\n\n"
  assert say("final_score") == "= W+6.5\n\n"  # empty board, komi 6.5
  # Two black moves in a row: white is taken to have passed in between.
  assert say("play b C3") == "=\n\n" and say("play b E5") == "=\n\n"
  assert say("clear_board") == "=\n\n" and say("final_score") == "= W+6.5\n\n"


def test_gtp_engine_survives_garbage(go_engine):
  _, engine = go_engine
  rng = np.random.default_rng(0)
  words = list(gtp.COMMANDS) + ["b", "w", "D4", "pass", "-1", "9", "x", "\x00", "#", "\t"]
  for _ in range(300):
    line = " ".join(rng.choice(words, rng.integers(0, 4)))
    if "quit" in line:
      continue
    reply = engine.handle(line)
    assert reply is None or (reply[0] in "=?" and reply.endswith("\n\n"))
  out = io.StringIO()
  engine.serve(io.StringIO("name\nquit\nname\n"), out)
  assert out.getvalue() == "= zerogo\n\n=\n\n"  # stops reading after quit


def _two_games_against_gnugo(env_id, workdir, gnugo_args, out):
  """Our GTP engine (2 simulations) against GNU Go, colours swapped, through
  the tournament tool: (our spec, GNU Go's spec, the two games' rows)."""
  assert os.path.exists(GNUGO), "GNU Go is required (.ci/run installs the gnugo package)"
  ours = f"gtp:python launch/gtp.py --checkpoint={workdir} --num_simulations=2"
  gnugo = f"gtp:{GNUGO} --mode gtp {gnugo_args}"
  run_launcher("tournament.py", f"--env={env_id}", f"--agents={ours},{gnugo}",
               "--games_per_pair=2", f"--out={out}", "--progress=false", timeout=600)
  games = [json.loads(line) for line in open(out / "games.jsonl")]
  assert len(games) == 2
  return ours, gnugo, games


def test_full_game_against_gnugo_through_the_tournament_tool(go_engine, tmp_path):
  workdir, _ = go_engine
  out = tmp_path / "tour"
  ours, gnugo, games = _two_games_against_gnugo("go_9x9", workdir, "--level 1", out)
  assert {games[0]["black"], games[1]["black"]} == {ours, gnugo}  # colours alternate
  env = envs.make("go_9x9")
  for game in games:
    assert game["reason"] in ("end", "resign") and game["moves"]
    text = open(out / game["sgf"]).read()
    parsed = sgfmill.sgf.Sgf_game.from_bytes(text.encode())
    assert parsed.get_player_name("b") == game["black"]
    assert parsed.get_root().get("RE") == game["result"]
    # The SGF replays to the position pgx reached.
    board = sgfmill.boards.Board(9)
    for node in parsed.get_main_sequence()[1:]:
      colour, point = node.get_move()
      if point is not None:
        board.play(point[0], point[1], colour)
    actions = np.full((1, env.max_game_length), -1, np.int32)
    actions[0, :len(game["actions"])] = game["actions"]
    state = jax.tree.map(lambda x: x[0], arena.replay_final(env, jnp.asarray(actions)))
    assert np.array_equal(_sgfmill_stones(board), go.stones(state))
    if game["reason"] == "end":
      assert game["result"][0] in "BW0"
      assert set(game["engine_scores"]) == {ours, gnugo}
  standings = open(out / "standings.md").read()
  assert "| rank | player | Elo |" in standings and gnugo in standings


def test_go_at_every_size_with_its_komi():
  assert envs.make("go_7x7").komi == 9.0 and envs.make("go_5x5").komi == 24.5
  assert envs.make("go_9x9").komi == 7.5
  assert go.make("go_7x7", komi=5.5).komi == 5.5
  for size in (2, 5, 7, 13, 19):
    env = envs.make(f"go_{size}x{size}")
    assert env.num_actions == size * size + 1 and env.observation_shape[:2] == (size, size)
    assert env.max_game_length == 2 * size * size and env.is_perfect_information_two_player
    assert go.board_size(env.id) == size
  for bad in ("go_20x20", "go_1x1", "go_7x9", "go_07x07", "go_7"):
    with pytest.raises(envs.UnknownEnvError, match=r"go_NxN \(N 2\.\.19\)"):
      envs.make(bad)


def test_area_score_agrees_with_pgx_at_7x7_with_komi_9():
  """An integer komi allows a tie: pgx gives it to White, as documented."""
  env = envs.make("go_7x7")
  n = 32
  states = jax.vmap(env.init)(jax.random.split(jax.random.PRNGKey(3), n))

  @jax.jit
  def play(states, key):
    def move(carry, k):
      s, total = carry
      a = baselines.random_agent(env).apply((), s, k)
      s = jax.vmap(env.step)(s, a, jax.random.split(k, n))
      return (s, total + s.rewards), None
    return jax.lax.scan(move, (states, jnp.zeros((n, 2))),
                        jax.random.split(key, env.max_game_length))[0]

  finals, totals = jax.device_get(play(states, jax.random.PRNGKey(4)))
  checked = 0
  for i in range(n):
    state = jax.tree.map(lambda x: x[i], finals)
    if bool(state._x.is_psk) or not bool(state.terminated):
      continue
    score = go.area_score(go.stones(state), 9.0)
    black = int(state._player_order[0])
    assert totals[i][black] == (1.0 if score > 0 else -1.0), (i, score)
    checked += 1
  assert checked >= n // 2


def test_gtp_engine_and_gnugo_play_7x7(tmp_path):
  from agents import load_agent
  from conftest import untrained_checkpoint
  workdir = untrained_checkpoint(str(tmp_path / "ckpt"), "go_7x7")
  engine = gtp.GtpEngine(load_agent(workdir, num_simulations=2))
  assert engine.handle("boardsize 9") == "? unacceptable size\n\n"
  assert engine.handle("boardsize 7") == "=\n\n"
  assert engine.handle("final_score") == "= W+9\n\n"  # the env's komi
  assert engine.handle("genmove b").startswith("= ")
  out = tmp_path / "tour"
  _, _, games = _two_games_against_gnugo("go_7x7", workdir, "--level 0 --chinese-rules", out)
  assert all(g["komi"] == 9.0 for g in games)
  for game in games:
    parsed = sgfmill.sgf.Sgf_game.from_bytes(open(out / game["sgf"]).read().encode())
    assert parsed.get_size() == 7 and parsed.get_komi() == 9.0


def test_area_ownership_sums_to_the_area_score_on_finished_random_games():
  # The ownership head's target, computed on device, must count exactly as
  # the host scorer does (which agrees with pgx's results, above).
  env = go.make("go_7x7")
  n = 12
  finals, _, (ownership, score) = _random_games(
      env, n, jax.random.PRNGKey(1), lambda state: go.final_targets(state, env.komi))
  for i in range(n):
    state = jax.tree.map(lambda x: x[i], finals)
    black_is_0 = go.black_player(state) == 0
    area = go.area_score(go.stones(state), env.komi)
    assert float(score[i]) == pytest.approx(area if black_is_0 else -area)
    owner_black = ownership[i] * (1 if black_is_0 else -1)
    stones = go.stones(state).reshape(-1)
    assert (owner_black[stones != 0] == stones[stones != 0]).all()   # stones own their point
    assert set(np.unique(owner_black)) <= {-1.0, 0.0, 1.0}


def test_area_ownership_of_a_hand_made_position():
  # . X . | (0, 0) and (2, 0) touch only X: X's; (0, 2) touches X and O:
  # X X O | nobody's; every stone owns its point.
  # . X O |
  stones = np.array([[0, 1, 0], [1, 1, -1], [0, 1, -1]]).reshape(-1)
  owner = np.asarray(go.area_ownership(jnp.asarray(stones), 3)).reshape(3, 3)
  np.testing.assert_array_equal(owner, [[1, 1, 0], [1, 1, -1], [1, 1, -1]])


class _PassLovingNet:
  """A stand-in network whose policy puts almost everything on pass."""

  def __init__(self, num_actions):
    self.num_actions = num_actions

  def apply(self, params, observation):
    del params
    logits = jnp.zeros((observation.shape[0], self.num_actions)).at[:, -1].set(10.0)
    return logits, jnp.zeros(observation.shape[0])


@pytest.mark.parametrize("simulations", [0, 8])
def test_no_pass_before_holds_back_an_early_pass(simulations):
  from agents import search as search_lib
  env = envs.make("go_5x5")
  net = _PassLovingNet(env.num_actions)
  states = jax.vmap(env.init)(jax.random.split(jax.random.PRNGKey(0), 2))
  keys = jax.random.split(jax.random.PRNGKey(1), 2)
  for before, passes in [(0, True), (3, False)]:
    search = search_lib.make_search(env, net, num_simulations=simulations,
                                    max_num_considered_actions=4, greedy=True,
                                    no_pass_before=before)
    out = search((), keys, states)
    assert bool((out.action == env.num_actions - 1).all()) == passes, (before, out.action)
    if not passes:
      assert float(out.policy[:, -1].max()) == 0.0   # and the target never asks for it
  # From move `before` on, pass is allowed again.
  later = states
  for k in range(3):
    later = jax.vmap(env.step)(later, jnp.array([k, 24 - k]),
                               jax.random.split(jax.random.PRNGKey(2), 2))
  out = search_lib.make_search(env, net, num_simulations=simulations,
                               max_num_considered_actions=4, greedy=True,
                               no_pass_before=3)((), keys, later)
  assert (out.action == env.num_actions - 1).all()
