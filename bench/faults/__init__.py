"""``mmrag bench faults``: the system under SIGKILLs, outages and hostile input, in figures.

Runs on a private local stack (its own ports and cache directory), so it can stop and kill
its Kafka and Elasticsearch freely; see ``python -m bench.faults --help``.
"""
