"""``python -m fastdescent`` is the ``fastdescent`` command."""

import sys

from .cli import main

sys.exit(main())
