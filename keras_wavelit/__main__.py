"""`python -m keras_wavelit`: the `wavelit` command line."""

import sys

from keras_wavelit.cli import main

if __name__ == "__main__":
    sys.exit(main())
