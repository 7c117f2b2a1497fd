r"""Record an agent's game or episode as an animated GIF.

  python launch/record.py --checkpoint=runs/breakout --out=breakout.gif
  python launch/record.py --checkpoint=runs/c4 --opponent=uct:200 --out=c4.gif
  python launch/record.py --checkpoint=uct:100 --env=go_9x9 --out=go.gif

One-player games (MinAtar, CartPole): one episode of the agent, to its end
or --max_steps. Two-player games (tic_tac_toe, connect_four, othello,
go_NxN): one game of the agent against --opponent (default: itself), the
agent moving first unless --agent_first=false. Needs Pillow
(pip install -e '.[web]').
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402

flags.DEFINE_string("checkpoint", None, "The agent: a workdir, checkpoints dir or step dir; "
                    "or random, uct:N, minimax (then --env is needed).")
flags.DEFINE_string("env", None, "Game, when --checkpoint is a baseline spec.")
flags.DEFINE_string("opponent", None, "Two-player games: the other side (a checkpoint path "
                    "or random, uct:N, minimax; default: the agent itself).")
flags.DEFINE_bool("agent_first", True, "Two-player games: the agent moves first.")
_common.define_num_simulations("Search budget of loaded agents "
                                "(default: as trained).")
flags.DEFINE_string("out", None, "Where to write the GIF (.gif).")
flags.DEFINE_integer("seed", 0, "Seed of the game or episode.", lower_bound=0,
                     upper_bound=2**31 - 1)
flags.DEFINE_integer("max_steps", 1000, "One-player games: stop the episode after this "
                     "many steps.", lower_bound=1, upper_bound=2**31 - 1)
flags.DEFINE_integer("every", 1, "Keep every N-th position (long episodes: smaller GIFs).",
                     lower_bound=1, upper_bound=2**31 - 1)
flags.DEFINE_integer("frame_ms", None, "Milliseconds per frame (default: 500 for board "
                     "games, 60 for episodes).")
FLAGS = flags.FLAGS

_BASELINES = ("random", "uct", "minimax")


def _agent(text: str, env_id: str | None):
  import agents
  import envs
  from agents import specs
  if text.split(":")[0] in _BASELINES:
    if env_id is None:
      raise ValueError(f"{text} is a baseline; say which game with --env")
    return specs.make_agent(specs.parse(text), envs.make(env_id))
  agent = agents.load_agent(text, num_simulations=FLAGS.num_simulations)
  if env_id is not None and env_id != agent.env_id:
    raise ValueError(f"{text} plays {agent.env_id}, not {env_id}")
  return agent


def main(argv):
  _common.start(argv, "checkpoint", "out")

  def run():
    if not FLAGS.out.endswith(".gif"):
      raise ValueError(f"--out={FLAGS.out} must end in .gif")
    if FLAGS.frame_ms is not None and not 10 <= FLAGS.frame_ms <= 10000:
      raise ValueError(f"--frame_ms must be between 10 and 10000, got {FLAGS.frame_ms}")
    import envs
    from envs import frames as frames_lib
    if FLAGS.env is not None:
      envs.check_env_name(FLAGS.env)
      if not frames_lib.can_draw(FLAGS.env):
        raise ValueError(f"no frame drawing for {FLAGS.env}; GIFs cover tic_tac_toe, "
                         "connect_four, othello, go_NxN, the MinAtar games and CartPole-v1")
    try:
      import PIL  # noqa: F401
    except ImportError:
      raise ValueError("GIFs need Pillow: pip install -e '.[web]'") from None
    from agents import recording
    agent = _agent(FLAGS.checkpoint, FLAGS.env)
    if not frames_lib.can_draw(agent.env_id):
      raise ValueError(f"no frame drawing for {agent.env_id}; GIFs cover tic_tac_toe, "
                       "connect_four, othello, go_NxN, the MinAtar games and CartPole-v1")
    if agent.env.num_players == 1:
      if FLAGS.opponent is not None:
        raise ValueError(f"{agent.env_id} is a one-player game; drop --opponent")
      played = recording.episode(agent, FLAGS.seed, max_steps=FLAGS.max_steps)
      frame_ms = FLAGS.frame_ms or 60
    else:
      opponent = _agent(FLAGS.opponent, agent.env_id) if FLAGS.opponent else agent
      first, second = (agent, opponent) if FLAGS.agent_first else (opponent, agent)
      played = recording.game(first, second, FLAGS.seed)
      frame_ms = FLAGS.frame_ms or 500
    images = recording.frames(played, every=FLAGS.every)
    directory = os.path.dirname(os.path.abspath(FLAGS.out))
    os.makedirs(directory, exist_ok=True)
    frames_lib.save_gif(images, FLAGS.out, frame_ms=frame_ms)
    print(f"{FLAGS.out}: {agent.env_id}, {played.result}; {len(images)} frames")

  _common.run_guarded(run)


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
