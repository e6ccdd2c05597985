"""``python -m xstac_access.cli``: the ``xstac`` command."""

import sys

from . import main

sys.exit(main())
