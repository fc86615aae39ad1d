"""Vector index: FAISS + chunk store + manifest on disk."""
