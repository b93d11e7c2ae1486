"""The dashboard's vendored files and pages: plotly.js served from the installed ``plotly``
package (no CDN), the fleet page at ``/fleet`` and the companies page at ``/companies``.

``GET /static/vendor/plotly.min.js`` reads ``plotly/package_data/plotly.min.js`` through
:mod:`importlib.resources`, so the charting library arrives with the project's own
dependencies; it is sent gzipped to clients that accept it, may be cached for a week, and
carries an ETag of its content so a revalidation after an upgrade fetches the new file.
Include this router before the ``/static`` mount so the route wins over the mount.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Header, HTTPException
from fastapi.responses import FileResponse, Response

router = APIRouter(include_in_schema=False)

PLOTLY_JS = ("plotly", "package_data/plotly.min.js")
WEEK_S = 7 * 24 * 3600  # a cache lifetime, not chain time


@lru_cache(maxsize=1)
def _plotly_bytes() -> tuple[bytes, bytes, str]:
    """The plotly.js bundle as shipped, gzipped, and its ETag (read once per process)."""
    package, name = PLOTLY_JS
    try:
        raw = resources.files(package).joinpath(name).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise HTTPException(
            503, "plotly.js is not installed: install the 'plotly' package (scripts/_venv.sh does)"
        ) from exc
    etag = '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'
    return raw, gzip.compress(raw, compresslevel=6, mtime=0), etag


@router.get("/static/vendor/plotly.min.js")
def plotly_js(accept_encoding: str | None = Header(None), if_none_match: str | None = Header(None)) -> Response:
    """plotly.js from the installed ``plotly`` package, gzipped when the client accepts it."""
    raw, packed, etag = _plotly_bytes()
    headers = {"Cache-Control": f"public, max-age={WEEK_S}", "ETag": etag, "Vary": "Accept-Encoding"}
    if if_none_match and etag in if_none_match:
        return Response(status_code=304, headers=headers)
    if accept_encoding and "gzip" in accept_encoding.lower():
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type="text/javascript", headers=headers)
    return Response(raw, media_type="text/javascript", headers=headers)


def _static() -> Path:
    return Path(str(resources.files("hashlens.web").joinpath("static")))


@router.get("/fleet")
def fleet_page() -> FileResponse:
    """The fleet page: enter or upload a fleet and see its outlook (POST /v1/outlook)."""
    return FileResponse(_static() / "fleet.html")


@router.get("/companies")
def companies_page() -> FileResponse:
    """The companies page: quarterly results beside the chain, revenue mix, treasury flows
    (GET /v1/miners/results and /v1/miners/flows)."""
    return FileResponse(_static() / "companies.html")
