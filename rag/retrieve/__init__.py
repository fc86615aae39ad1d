"""Retrieval: question -> scored passages, and the passages that go into the prompt."""
