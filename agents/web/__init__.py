"""The web board: play, watch and inspect agents in a browser.

  app = agents.web.build(["runs/c4"], games_dirs=["runs/tour_c4"])   # an ASGI app
  uvicorn.run(app, host="127.0.0.1", port=8000)

`launch/serve.py` is the command. `sessions` holds the games people play,
`library` the recorded games to replay, `app` the HTTP layer and the page
(`static/`).
"""

from agents.web.app import build, make_app

__all__ = ["build", "make_app"]
