"""The oversight reports as JSON and CSV: the same selectors and the same scope (sites, arm
visibility) as the pages, one module per report."""
