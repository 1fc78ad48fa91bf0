// Area finops: see docs/ARCHITECTURE.md.
