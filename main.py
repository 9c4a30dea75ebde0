"""JoyRL's entry point: ``python main.py --help`` lists the options."""

import sys

from joyrl.cli import main

if __name__ == "__main__":
    sys.exit(main())
