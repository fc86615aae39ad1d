"""Dense retrieval: embed the query, search the FAISS index."""

from __future__ import annotations

from rag.embed.base import Embedder
from rag.index.store import IndexData
from rag.types import Hit


class DenseRetriever:
    def __init__(self, embedder: Embedder, index: IndexData) -> None:
        self.embedder = embedder
        self.index = index

    def search(self, query: str, k: int) -> list[Hit]:
        return self.index.search(self.embedder.embed_query(query), k)
