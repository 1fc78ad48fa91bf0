// Area gitops: see docs/ARCHITECTURE.md.
