"""The admission webhook's HTTPS server (aiohttp, on every replica, before leader election): server.py judges the
reviews, pool.py bounds their work, tls.py keeps its TLS context, cluster_delete.py warns at a KKP Cluster's DELETE.
Not kopf handlers (those are in controller/handlers/)."""
