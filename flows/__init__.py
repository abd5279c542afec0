"""Prefect flows and tasks, the HTTP fetcher, the digest and the CLI."""
