"""`python -m worker` is `news-worker`."""

import sys

from worker.cli import main

sys.exit(main())
