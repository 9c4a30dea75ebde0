"""Where the project's folders are, wherever the process was started from."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALGOS_DIR = ROOT / "algos"
ENVS_DIR = ROOT / "envs"
TASKS_DIR = ROOT / "tasks"

# algos/, envs/ and config/ are imported as top-level packages found by folder name.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
