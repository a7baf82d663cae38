"""``python -m examples.lona_cluster``: see ``examples/lona_cluster/cluster.py``."""

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file or a directory: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from examples.lona_cluster.cluster import main

raise SystemExit(main())
