"""Each person's work list: what is waiting for them, in each of their roles, oldest first,
each item one click from the page that clears it."""
