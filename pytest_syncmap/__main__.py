"""``python -m pytest_syncmap``: the standalone emulator (see :mod:`.host.standalone`)."""

from __future__ import annotations

import sys

from .host.standalone import main

if __name__ == "__main__":
    sys.exit(main())
