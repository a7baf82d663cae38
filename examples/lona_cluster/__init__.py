"""One Lona app on several processes behind a load balancer, chatting through Redis (spec §20).

``cluster`` starts the deployment (``python -m examples.lona_cluster``), ``balancer`` is the
few-line round-robin proxy in front, ``client`` a browser-less chat user speaking Lona's
websocket protocol (the test drives the deployment with it).
"""
