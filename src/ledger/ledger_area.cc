// Area ledger: see docs/ARCHITECTURE.md.
