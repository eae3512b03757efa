"""`python -m ccprompt` runs the same entry point as the console script."""

import sys

from ccprompt.entry import main

sys.exit(main())
