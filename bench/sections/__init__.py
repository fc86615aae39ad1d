"""One module per bench section, each ending with ``SECTION = Section(...)`` (see
``bench/contract.py``); the list and the report order are ``bench.SECTIONS``."""
