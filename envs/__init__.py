"""zerogo environments: `envs.make(name)` and `envs.list_envs()`."""

from envs import board as _board  # registers the pgx board games
from envs import minatar as _minatar  # registers the gymnax games
from envs.core import Env, UnknownEnvError, check_env_name, list_envs, make
from envs.masking import invalid_actions, is_masked, mask_illegal, random_legal_action
from envs.wrappers import AutoReset, EpisodeStats, RecordEpisodeStatistics, StepInfo

__all__ = [
    "AutoReset", "Env", "EpisodeStats", "RecordEpisodeStatistics", "StepInfo",
    "UnknownEnvError", "check_env_name", "invalid_actions", "is_masked", "list_envs", "make",
    "mask_illegal", "random_legal_action",
]
