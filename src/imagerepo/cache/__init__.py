"""The cache in front of SQL, behind the `Cache` protocol (in-process now, Redis later)."""
