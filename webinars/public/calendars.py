"""Calendar routes (.ics downloads and the subscribable feed)."""
