"""`python -m service.cli` == the `prompter` command."""

import sys

from service.cli.main import main

sys.exit(main())
