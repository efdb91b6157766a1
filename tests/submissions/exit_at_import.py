"""Bad submission: kills the process while being imported (os._exit skips every handler)."""

import os

os._exit(3)
