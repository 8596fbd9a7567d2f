"""Settings for `make run` on a laptop: debug on, demo content allowed."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
DEMO_MODE = env.bool("DEMO_MODE", default=True)
# `make run`'s listener has no MTA in front to write Authentication-Results, so mail from
# this machine is trusted; the README's local post works. Never in production.
DISCUSSIONS_TRUST_LOOPBACK = True
