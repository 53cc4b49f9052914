"""Randomisation: pure allocation algorithms, sealed sequences, strata and allocations."""
