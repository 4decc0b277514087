"""``python -m fastdescent`` is the ``fastdescent`` command."""

import sys

from ._entry import main

sys.exit(main())
