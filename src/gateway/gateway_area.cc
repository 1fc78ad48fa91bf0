// Area gateway: see docs/ARCHITECTURE.md.
