"""The statisticians' half of the trial: freezing data, the lock-readiness report, locking
and the two-person unlock."""
