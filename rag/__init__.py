"""Offline, cited question answering over a Russian news corpus."""
