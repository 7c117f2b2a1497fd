"""zerogo agents: algorithms, each a pure program over envs."""
