"""The web board's HTTP layer (FastAPI): the page, and a small JSON API over
`agents.web.sessions` (games people play), `agents.web.library` (recorded
games to replay) and one-player episodes to watch.

Every request that cannot be served gets a 4xx with one sentence in
`detail`: malformed JSON, unknown fields, out-of-range numbers, unknown
games or files, bodies over `max_body_bytes`. A 5xx is a bug.
"""

from __future__ import annotations

import base64
import collections
import os
import threading
from typing import Literal

from fastapi import FastAPI, HTTPException, Path, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from agents.web import library as library_lib
from agents.web import sessions

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
GAME_ID = Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
MAX_EPISODE_STEPS = 1000


class NewGame(BaseModel):
  model_config = ConfigDict(extra="forbid")
  env: str = Field(max_length=40)
  opponent: str = Field(max_length=300)
  first: Literal["you", "agent"] = "you"
  seed: int | None = Field(default=None, ge=0, lt=2**31)


class Move(BaseModel):
  model_config = ConfigDict(extra="forbid")
  move: str | None = Field(default=None, max_length=20)
  action: int | None = Field(default=None, ge=0, lt=1 << 20)


class BodyLimit:
  """ASGI middleware: a request body over `limit` bytes gets 413 before
  the app sees it (whether or not Content-Length says so)."""

  def __init__(self, app, limit: int):
    self.app, self.limit = app, limit

  async def __call__(self, scope, receive, send):
    if scope["type"] != "http":
      return await self.app(scope, receive, send)
    declared = dict(scope.get("headers") or []).get(b"content-length")
    too_big = JSONResponse({"detail": f"request body over {self.limit} bytes"}, 413)
    if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
      return await too_big(scope, receive, send)
    chunks, size = [], 0
    while True:
      message = await receive()
      if message["type"] != "http.request":
        break
      chunks.append(message.get("body", b""))
      size += len(chunks[-1])
      if size > self.limit:
        return await too_big(scope, receive, send)
      if not message.get("more_body", False):
        break
    body = b"".join(chunks)
    replayed = False

    async def replay():
      nonlocal replayed
      if replayed:
        return await receive()
      replayed = True
      return {"type": "http.request", "body": body, "more_body": False}

    return await self.app(scope, replay, send)


def make_app(opponents: sessions.Opponents, library: library_lib.Library | None = None, *,
             max_games: int = 500, max_body_bytes: int = 16384) -> BodyLimit:
  """The web board over these opponents and recorded games: an ASGI app
(the FastAPI app behind a body-size limit, at `.app`)."""
  library = library or library_lib.Library([])
  games = sessions.Games(opponents, max_games=max_games)
  episodes: collections.OrderedDict[tuple, dict] = collections.OrderedDict()
  episodes_lock = threading.Lock()
  app = FastAPI(title="zerogo web board", docs_url=None, redoc_url=None, openapi_url=None)
  app.state.games = games

  @app.exception_handler(sessions.BadRequest)
  async def bad_request(request, exc):
    return JSONResponse({"detail": str(exc)}, 400)

  @app.exception_handler(sessions.NotFound)
  async def not_found(request, exc):
    return JSONResponse({"detail": "no such game (it may have expired); start a new one"}, 404)

  @app.exception_handler(RequestValidationError)
  async def invalid(request, exc):
    errors = exc.errors()
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return JSONResponse({"detail": f"bad request: {where}: {first.get('msg', 'invalid')}"},
                        422)

  # -- the page ---------------------------------------------------------------
  @app.get("/", include_in_schema=False)
  def index():
    return FileResponse(os.path.join(STATIC, "index.html"), media_type="text/html")

  app.mount("/static", StaticFiles(directory=STATIC), name="static")

  @app.get("/api/config")
  def config():
    return {"games": [{"env": env_id, "opponents": opponents.names(env_id),
                       "marks": sessions.mark_names(env_id)} for env_id in opponents.games()],
            "one_player": opponents.one_player_agents(),
            "libraries": [d.summary() for d in library.directories],
            "max_uct": sessions.MAX_UCT_SIMULATIONS}

  # -- play -------------------------------------------------------------------
  @app.post("/api/games")
  def new_game(request: NewGame):
    game = games.new(request.env, request.opponent.strip(), request.first == "you",
                     request.seed)
    with game.lock:
      return game.view()

  def under_lock(game_id: str, change=None):
    """The game's view after `change(game)`, both under the game's lock."""
    game = games.get(game_id)
    with game.lock:
      if change is not None:
        change(game)
      return game.view()

  def analyse_now(game):
    if game.over:
      raise sessions.BadRequest("the game is over")
    game.think()

  @app.get("/api/games/{game_id}")
  def get_game(game_id: str = GAME_ID):
    return under_lock(game_id)

  @app.post("/api/games/{game_id}/move")
  def move(request: Move, game_id: str = GAME_ID):
    if (request.move is None) == (request.action is None):
      raise sessions.BadRequest("send exactly one of move (text) and action (number)")
    return under_lock(game_id, lambda g: g.human_move(move=request.move, action=request.action))

  @app.post("/api/games/{game_id}/reply")
  def reply(game_id: str = GAME_ID):
    return under_lock(game_id, lambda g: g.agent_move())

  @app.post("/api/games/{game_id}/analyse")
  def analyse(game_id: str = GAME_ID):
    return under_lock(game_id, analyse_now)

  @app.post("/api/games/{game_id}/undo")
  def undo(game_id: str = GAME_ID):
    return under_lock(game_id, lambda g: g.undo())

  @app.post("/api/games/{game_id}/resign")
  def resign(game_id: str = GAME_ID):
    return under_lock(game_id, lambda g: g.resign())

  # -- watch: recorded games ----------------------------------------------------
  @app.get("/api/library/{index}")
  def listing(index: int = Path(ge=0, lt=1000)):
    try:
      return library.listing(index)
    except KeyError:
      raise HTTPException(404, "no such games directory") from None

  @app.get("/api/library/{index}/games/{number}")
  def recorded_game(index: int = Path(ge=0, lt=1000), number: int = Path(ge=0, lt=10**7),
                    ply: int = Query(0, ge=0, lt=10**5)):
    try:
      return library.position(index, game=number, ply=ply)
    except KeyError:
      raise HTTPException(404, "no such game") from None
    except ValueError as e:
      raise HTTPException(400, str(e)) from None

  @app.get("/api/library/{index}/sgf/{name:path}")
  def sgf_game(index: int = Path(ge=0, lt=1000), name: str = Path(max_length=120),
               ply: int = Query(0, ge=0, lt=10**5)):
    try:
      return library.position(index, sgf_name=name, ply=ply)
    except KeyError:
      raise HTTPException(404, "no such SGF file in this directory") from None
    except ValueError as e:  # a file that is not an SGF game we can replay
      raise HTTPException(400, f"{name}: {e}") from None

  # -- watch: one-player episodes ----------------------------------------------
  @app.get("/api/episode")
  def episode(agent: str = Query(max_length=300), seed: int = Query(0, ge=0, lt=2**31)):
    if agent not in opponents.one_player_agents():
      raise HTTPException(404, f"no one-player agent {agent!r} is loaded")
    key = (agent, seed)
    with episodes_lock:
      if key in episodes:
        return episodes[key]
    from agents import recording
    from envs import frames as frames_lib
    played = recording.episode(opponents.loaded[agent], seed, max_steps=MAX_EPISODE_STEPS)
    pictures = recording.frames(played, captions=False)
    out = {"env": played.env_id, "agent": agent, "seed": seed, "result": played.result,
           "rewards": played.rewards, "actions": played.actions,
           "frames": ["data:image/png;base64," + base64.b64encode(
               frames_lib.png_bytes(p)).decode() for p in pictures]}
    with episodes_lock:
      episodes[key] = out
      while len(episodes) > 8:
        episodes.popitem(last=False)
    return out

  return BodyLimit(app, max_body_bytes)


def build(checkpoints: list[str], *, num_simulations: int | None = None,
          games_dirs: list[str] = (), warm_up: bool = True):
  """Loads the agents and reads the game directories (errors: one
  sentence: ValueError, CheckpointError), compiles the loaded agents'
  searches (`warm_up`: the first move then answers at once) and makes the
  app."""
  import agents
  loaded = {}
  for path in checkpoints:
    if path.split(":")[0] in ("random", "minimax", "uct"):
      continue  # always offered
    loaded[path] = agents.load_agent(path, num_simulations=num_simulations)
  library = library_lib.Library(list(games_dirs))
  opponents = sessions.Opponents(loaded)
  if warm_up:
    for name in loaded:
      opponents.warm_up(name)
  return make_app(opponents, library)
