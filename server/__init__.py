"""The HTTP server: an OpenAI-compatible chat API, a REST API and an MCP server, all thin
layers over the one ``rag.pipeline.Pipeline`` (``create_app(pipeline, settings)``)."""
