"""The web dashboard: static files served by the API, drawing from /v1 (no external CDN)."""
