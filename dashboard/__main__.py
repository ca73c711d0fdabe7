"""`python -m dashboard`: run the dashboard with settings from the environment."""

from __future__ import annotations

import sys

from dashboard.server import main

sys.exit(main())
