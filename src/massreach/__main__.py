"""``python -m massreach``: the same as the ``massreach`` command."""

import sys

from massreach.cli.main import main

sys.exit(main())
