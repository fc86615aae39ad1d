"""Offline, cited question answering over a Russian news corpus."""

import os


def passive_openmp() -> dict[str, str]:
    """Make OpenMP threads wait passively in this process and the ones it starts.

    torch, FAISS and llama.cpp spin their OpenMP threads while waiting; on a small,
    shared CPU that cost 2-3x (``rag bench``, threads section). libgomp reads the
    setting when it loads, so this is called where a process starts, before any model
    loads (the ``rag`` command, the bench runner); an explicit setting in the
    environment wins. Returns the setting, for processes started elsewhere (Ray).
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return {"OMP_WAIT_POLICY": os.environ["OMP_WAIT_POLICY"]}
