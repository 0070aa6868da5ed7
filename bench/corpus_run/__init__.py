"""``mmrag bench corpus DIR``: the whole path (watch → Kafka → worker → Elasticsearch) over a
real folder, on the running stack, with uuid-named topics, indexes and consumer group that
are deleted afterwards.

It prints the load's total time and chunks/s, the ratio to the bare default text encoder
measured in the same run (the corpus's own chunks, encoded in-process before the load), and
the freshness of small live edits injected into another watched folder every few seconds
during the load (live lane) and after it (idle).
"""
