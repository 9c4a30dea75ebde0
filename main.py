"""JoyRL's entry point: ``python main.py --help`` lists the options."""

import gc
import sys

# No collection during a run's start-up: importing torch and building the run cost five full passes
# over objects that live as long as the process (0.5 s). joyrl.runtime.freeze_startup_objects turns
# collection back on when the run is built; joyrl.cli.main at once for the commands that run no run.
gc.disable()
from joyrl.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
