"""The Faust worker: consumes change events in micro-batches and runs the indexer."""
