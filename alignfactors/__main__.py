"""``python -m alignfactors``: the same as the ``alignfactors`` console script."""

import sys

from .cli import main

sys.exit(main())
