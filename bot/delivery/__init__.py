"""Delivers the outbox: the worker, pacing within a platform's limits, and files."""
