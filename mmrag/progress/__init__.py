"""Progress a user can see (``mmrag status``, ``mmrag watch --once --wait``): what was
sent, what is searchable, how fast and until when.

Pure parts: ``rates`` (rates and ETAs from successive samples), ``snapshot`` (one reading
of Kafka and Elasticsearch, per lane and per source) and ``report`` (what a reading and the
ones before it say). I/O: ``probe`` (reads Kafka, Elasticsearch and the watcher's state)
and ``view`` (the terminal).
"""
