"""Settings package: base, local, test, production."""
