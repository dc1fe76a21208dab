"""Agency back-ends: how each agency works its applications (plugins; see registry)."""
