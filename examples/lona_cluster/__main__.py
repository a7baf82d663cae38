"""``python -m examples.lona_cluster``: see ``examples/lona_cluster/cluster.py``."""

from examples.lona_cluster.cluster import main

raise SystemExit(main())
