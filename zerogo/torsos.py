"""The names of the network torsos each algorithm offers (`zerogo.networks`
builds them). Plain tuples, free of JAX and Flax: the configs and launchers
list them as flag choices, so a bad flag or `--help` answers before JAX
loads."""

TORSOS = ("conv", "mlp", "patch_mlp")              # AlphaZero
PPO_TORSOS = ("auto", "mlp", "cnn", "column")      # PPO
GRID_TORSOS = ("cnn", "column")  # PPO torsos that need H x W x C observations
MUZERO_TORSOS = ("mlp", "conv")                    # MuZero
