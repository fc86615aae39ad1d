"""Ingest: files on disk -> cleaned ``Document``s -> chunks.

Import from the modules (``rag.ingest.load``, ``rag.ingest.clean``,
``rag.ingest.chunk``); nothing is re-exported here, so importing one of them
does not pull in the parsers the others need.
"""
