"""What every app shares, below all of them."""
