"""Celery tasks and schedules: reconcile, resync, metrics collection, rebalance."""
