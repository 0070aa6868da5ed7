"""The read side: FastAPI retrieval and generation, and the web page.
Imports ``indexer`` (encoders, store), never ``stream``."""
