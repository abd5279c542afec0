"""Prefect deployments and their schedules: `silkwatch serve`, or prefect.yaml with a work pool."""
