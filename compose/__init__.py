"""Deployment: the docker compose file and the no-Docker local stack (``compose.local``)."""
