"""gunicorn settings for every deployment started from the project root (the Docker image, the
benchmark, the acceptance suite); command-line options and GUNICORN_CMD_ARGS still override them.

Workers are `gthread` so that HTTP/1.1 connections stay open between requests: the systems that
post to the API (web shop, POS, marketplaces, warehouse) send one request after another, and the
default `sync` worker closes every connection after its response, so each request paid for a new
TCP connection on both ends. On the order-intake benchmark (bench/README.md) keep-alive cut the
server's CPU per order by about a fifth. A thread per worker serves one request at a time, as the
sync worker does; GUNICORN_THREADS adds more (each thread keeps its own database connection).
Worker count: WEB_CONCURRENCY (gunicorn's own variable) or --workers.
"""

import os

worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Seconds an idle client connection is kept: long enough for a client's next request, short
# enough that idle integrations do not hold a worker's connection slots.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
