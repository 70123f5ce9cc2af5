"""`python -m pytest_cnncheck init ...`: the same as the `cnncheck` command."""

import sys

from .cli import main

sys.exit(main())
