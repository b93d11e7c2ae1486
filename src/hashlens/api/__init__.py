"""The HTTP API (FastAPI): versioned JSON endpoints under /v1 and the web dashboard."""
