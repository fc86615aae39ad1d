"""`rag bench`: every stage of the pipeline timed against a baseline, in one run.

One module per section (``build``, ``embed``, ``search``, ``answer``,
``baseline``), each a function ``run(ctx) -> dict`` that returns plain JSON
data; ``runner`` runs the sections (each in a fresh process, so its peak
memory is its own), ``report`` turns the results into the printed table and
the ``bench/results/<timestamp>.{json,md}`` files. Corpora are generated
reproducibly from the seeds' real sentences (``corpus``); vectors for the
large search sizes are synthetic and clustered (``vectors``), and the report
says so.
"""

# The sections, in report order; importable without loading any of them (the CLI).
SECTIONS = ("build", "embed", "search", "answer", "api", "baseline", "resume", "threads", "scale",
            "archive")  # fmt: skip
# threads runs the slow setting on purpose, scale starts a Ray of its own, archive reads
# the 1,000-article corpus: full runs only, never in --quick
FULL_ONLY = ("threads", "scale", "archive")
