"""Settings for `make run` on a laptop: debug on, demo content allowed, and the demo
association's names unless the environment gives others."""

from .demo import use_demo_association

use_demo_association(override=False)

from .base import *  # noqa: E402, F403
from .base import env  # noqa: E402

DEBUG = env.bool("DEBUG", default=True)
DEMO_MODE = env.bool("DEMO_MODE", default=True)
# `make run`'s listener has no MTA in front to write Authentication-Results, so mail from
# this machine is trusted; the README's local post works. Never in production.
DISCUSSIONS_TRUST_LOOPBACK = True
