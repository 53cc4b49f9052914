"""The report pages: thin callers of the report selectors, one module per report."""
