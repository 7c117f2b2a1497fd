"""GTP fuzz: random bytes and random commands never kill the engine or
produce a malformed reply, under a strict UTF-8 locale.

The suite feeds a few thousand lines in-process and a few hundred through
`launch/gtp.py` itself; for the long run:

  python tests/test_gtp_fuzz.py 100000     # lines; prints replies, deaths, malformed
"""

import io
import os
import re
import subprocess
import sys

import numpy as np

from zerogo import gtp

# A reply: "=" or "?", an optional ASCII id, then text; lines inside a reply
# are never empty (an empty line ends it).
_REPLY = re.compile(r"^[=?][0-9]*( [^\n]*)?(\n[^\n]+)*$")
_WORDS = [c for c in gtp.COMMANDS if c != "quit"] + ["fly", "GENMOVE", "play1"]
_ARGS = ["b", "w", "black", "WHITE", "D4", "d4", "pass", "resign", "J9", "A1", "Z99", "T19",
         "9", "7", "19", "²", "٣", "0", "-1", "nan", "inf", "6.5", "1e308", "", "x" * 300]


def fuzz_lines(rng: np.random.Generator, n: int) -> list[bytes]:
  """`n` input lines: random bytes (any byte but newline, so invalid UTF-8,
  control characters, NUL), and commands from the engine's vocabulary with
  random ids and arguments (Unicode digits, NaN, huge numbers)."""
  lines = []
  for _ in range(n):
    kind = rng.integers(3)
    if kind == 0:
      raw = rng.integers(0, 256, rng.integers(0, 40)).astype(np.uint8).tobytes()
      lines.append(raw.replace(b"\n", b" "))
    else:
      words = [str(rng.integers(0, 1000))] if rng.random() < 0.3 else []
      words.append(_WORDS[rng.integers(len(_WORDS))])
      words += [_ARGS[i] for i in rng.integers(0, len(_ARGS), rng.integers(0, 4))]
      lines.append(" ".join(words).encode("utf-8"))
  return lines


def malformed(output: str) -> list[str]:
  """Replies in `output` that break GTP's framing (empty: all well formed)."""
  if output and not output.endswith("\n\n"):
    return [output[-80:]]
  return [r for r in output[:-2].split("\n\n") if r and not _REPLY.match(r)]


def test_random_bytes_and_commands_in_process(go_engine):
  _, engine = go_engine
  lines = fuzz_lines(np.random.default_rng(0), 3000) + [b"name"]
  out = io.BytesIO()
  engine.serve(io.BytesIO(b"\n".join(lines) + b"\n"), out)
  text = out.getvalue().decode("utf-8")
  assert malformed(text) == []
  assert text.endswith("= zerogo\n\n")           # alive after all of it
  assert text.count("\n\n") > 1500                 # most lines got a reply


def test_the_engine_process_survives_bytes_under_a_strict_locale(go_engine):
  workdir, _ = go_engine
  lines = fuzz_lines(np.random.default_rng(1), 300) + [b"7 name", b"quit"]
  env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8", JAX_NUM_CPU_DEVICES="1")
  env.pop("PYTHONIOENCODING", None)
  proc = subprocess.run(
      [sys.executable, os.path.join(os.path.dirname(os.path.dirname(__file__)), "launch",
                                    "gtp.py"), f"--checkpoint={workdir}", "--num_simulations=2"],
      input=b"\n".join(lines) + b"\n", capture_output=True, timeout=600, env=env)
  assert proc.returncode == 0, proc.stderr[-2000:]
  text = proc.stdout.decode("utf-8")
  assert malformed(text) == [] and "=7 zerogo\n\n" in text
  assert b"Traceback" not in proc.stderr


def test_a_closed_pipe_ends_the_engine_quietly(go_engine):
  workdir, _ = go_engine
  proc = subprocess.Popen(
      [sys.executable, os.path.join(os.path.dirname(os.path.dirname(__file__)), "launch",
                                    "gtp.py"), f"--checkpoint={workdir}", "--num_simulations=2"],
      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      env=dict(os.environ, JAX_NUM_CPU_DEVICES="1"))
  proc.stdout.close()                     # the controller stops reading ...
  _, err = proc.communicate(b"name\n" * 2000 + b"genmove b\n", timeout=600)
  assert proc.returncode == 0, err[-2000:]  # ... and the engine leaves without a word
  assert b"Traceback" not in err and b"BrokenPipe" not in err


if __name__ == "__main__":
  import time

  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
  import tempfile
  import agents
  from conftest import untrained_checkpoint
  count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
  workdir = untrained_checkpoint(tempfile.mkdtemp(prefix="gtp-fuzz-"), "go_9x9")
  engine = gtp.GtpEngine(agents.load_agent(workdir, num_simulations=2))
  lines = fuzz_lines(np.random.default_rng(2026), count) + [b"name"]
  out, started = io.BytesIO(), time.time()
  engine.serve(io.BytesIO(b"\n".join(lines) + b"\n"), out)
  text = out.getvalue().decode("utf-8")
  alive = text.endswith("= zerogo\n\n")
  print(f"{count} lines ({sum(l.count(b' ') >= 0 for l in lines)} fed) in "
        f"{time.time() - started:.0f} s: {text.count(chr(10) * 2)} replies, "
        f"{0 if alive else 1} deaths, {len(malformed(text))} malformed")
