"""Data held from change: freezes (one form, a casebook, a site) and locks (the trial, or one
analysis population), with the guard every write asks and the database triggers that refuse
what gets past it."""
