"""cart: the POS cart service; looks items up in master-data on every scan."""
