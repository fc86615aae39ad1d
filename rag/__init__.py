"""Offline, cited question answering over a Russian news corpus."""

import os

# torch, FAISS and llama.cpp spin their OpenMP threads while waiting; on a small,
# shared CPU that cost 2-3x in `rag bench` (threads section). Passive waiting is
# set before any of them loads; an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
