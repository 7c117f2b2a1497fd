r"""Play a board game against a trained agent in the terminal.

  python launch/play.py --checkpoint=PATH [--num_simulations=200] [--first=agent]
  python launch/play.py --checkpoint=minimax --env=tic_tac_toe

The board is drawn after every move. Moves use the game's notation: Go
vertices (D4, pass), connect-four columns (1-7), tic-tac-toe cells (1-9),
othello squares (d3); other games take the action number. Type `moves` for
the legal moves, `quit` to stop. Bad input is asked again.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from launch import _common  # noqa: E402
from zerogo import arena  # noqa: E402

flags.DEFINE_string("checkpoint", None, "Workdir, checkpoints dir or step dir of the agent; "
                    "or an agent spec such as uct:200 or minimax (then --env is needed).")
flags.DEFINE_string("env", None, "Game, when --checkpoint is a baseline spec.")
_common.define_num_simulations("Agent's search budget (default: as trained).")
flags.DEFINE_enum("first", "human", ["human", "agent"], "Who moves first.")
flags.DEFINE_integer("seed", 0, "Seed of the agent's search.", lower_bound=0, upper_bound=2**31 - 1)
FLAGS = flags.FLAGS


class HumanPlayer(arena.Player):
  """Reads moves from a text stream until one is legal."""
  name = "you"

  def __init__(self, env_id, stdin=sys.stdin, stdout=sys.stdout):
    self.env_id, self.stdin, self.stdout = env_id, stdin, stdout

  def genmove(self, state, key):
    from envs import notation
    while True:
      self.stdout.write("your move> ")
      self.stdout.flush()
      line = self.stdin.readline()
      if not line:
        raise EOFError
      text = line.strip()
      if text in ("quit", "exit", "resign"):
        return arena.RESIGN
      if text in ("moves", "help", "?"):
        self.stdout.write("legal: " + " ".join(notation.legal_moves(self.env_id, state)) + "\n")
        continue
      try:
        return notation.text_to_move(self.env_id, text, state)
      except ValueError as e:
        self.stdout.write(f"{e}; type `moves` for the legal moves\n")


def play(agent, human_first: bool, seed: int, stdin=sys.stdin, stdout=sys.stdout):
  """One game, human against agent; returns the arena GameRecord."""
  import jax
  from envs import notation
  env = agent.env
  human = HumanPlayer(env.id, stdin, stdout)
  bot = arena.AgentPlayer(agent)
  first, second = (human, bot) if human_first else (bot, human)

  def on_move(state, action):
    stdout.write(f"\n{'you' if mover[0] is human else agent.name} played "
                 f"{notation.move_to_text(env.id, action)}\n")
    stdout.write(notation.render(env.id, state, action) + "\n")
    mover[0] = second if mover[0] is first else first

  mover = [first]
  stdout.write(notation.render(env.id, env.init(jax.random.PRNGKey(seed))) + "\n")
  record = arena.play_game(env, first, second, jax.random.PRNGKey(seed), on_move=on_move)
  human_score = record.score if human_first else 1 - record.score
  verdict = {1.0: "You win", 0.5: "Draw", 0.0: "You lose"}[human_score]
  how = {"resign": " (resignation)", "illegal": " (illegal move)"}.get(record.reason, "")
  stdout.write(f"{verdict}{how} after {len(record.actions)} moves.\n")
  return record


def main(argv):
  _common.start(argv, "checkpoint")
  import envs
  import agents
  from agents import specs

  def run():
    if FLAGS.env is not None:
      envs.check_env_name(FLAGS.env)
    text = FLAGS.checkpoint
    if text.split(":")[0] in ("random", "uct", "minimax"):  # a baseline, not a checkpoint
      if FLAGS.env is None:
        raise ValueError(f"--checkpoint={text} is a baseline; say which game with --env")
      agent = specs.make_agent(specs.parse(text), envs.make(FLAGS.env))
    else:
      agent = agents.load_agent(text, num_simulations=FLAGS.num_simulations)
      if FLAGS.env is not None and FLAGS.env != agent.env_id:
        raise ValueError(f"the checkpoint plays {agent.env_id}, not {FLAGS.env}")
    if not agent.env.is_perfect_information_two_player:
      raise ValueError(f"{agent.env_id} is not a two-player board game")
    human_first = FLAGS.first == "human"
    colour = ("X, black" if human_first else "O, white") if agent.env_id.startswith("go_") \
        else ("X" if human_first else "O")
    print(f"You play {'first' if human_first else 'second'} ({colour}) against "
          f"{agent.name} ({agent.env_id}). Type `moves` for legal moves, `quit` to resign.")
    try:
      play(agent, human_first, FLAGS.seed)
    except EOFError:
      print("\ninput closed; game abandoned")

  _common.run_guarded(run, interrupted="interrupted; game abandoned")


if __name__ == "__main__":
  app.run(main, flags_parser=_common.parse_flags)
