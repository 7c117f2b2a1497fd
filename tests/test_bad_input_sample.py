"""A random sample of tests/bad_input_sweep.py (the whole sweep: run it as a
script): every case ends in one sentence and a non-zero exit, or succeeds;
never a traceback or a hang."""

import os
import random

import pytest

import bad_input_sweep


@pytest.mark.slow(seconds=60)
def test_a_random_sample_of_bad_inputs_is_one_sentence_or_success():
  seed = int.from_bytes(os.urandom(4), "little")
  # Cases that would train (a value that is fine after all) are left out to
  # keep this fast; the full sweep runs them.
  quick = [c for c in bad_input_sweep._cases()
           if c[0] in ("bench.py", "evaluate.py", "tournament.py", "ablate.py", "gtp.py",
                       "play.py", "serve.py", "log_play.py", "record.py")
           or any(v in " ".join(c[1]) for v in ("=nan", "=-", "=abc", "=x", "=99999"))]
  cases = random.Random(seed).sample(quick, 10)
  results = bad_input_sweep.sweep(cases, jobs=2, timeout_s=120, log=lambda *a, **k: None)
  bad = [r for r in results if r["category"] not in ("clean", "success")]
  assert not bad, f"seed {seed}: {bad}"
