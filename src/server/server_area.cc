// Area server: see docs/ARCHITECTURE.md.
