"""Observations: provider calls an application made itself, reported through POST /api/observations or as OTLP spans
(POST /v1/traces), feeding the same drift logic as a run and the per-version stats of a label."""
