"""The kernel: deployed definitions, instances and the core transaction that advances them, lanes, form rules,
messages and timers. Imports no domain package (review, calibration, reports, queries)."""
