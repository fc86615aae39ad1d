"""Evaluation: gold set metrics and the `rag eval` runner."""
