"""The dispatcher console: one page and its static assets, served from package data.

Everything the page needs comes from here (no CDN, no map tiles): a command centre cut off
from the internet keeps working. A strict Content-Security-Policy makes a stray external
asset fail loudly in the browser instead of silently depending on the network.
"""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from service.errors import NotFound

STATIC = (Path(__file__).parent / "static").resolve()
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def _file(relative: str) -> FileResponse:
    path = (STATIC / relative).resolve()
    media_type = MEDIA_TYPES.get(path.suffix)
    if not path.is_relative_to(STATIC) or not path.is_file() or media_type is None:
        raise NotFound("No such console file.")
    return FileResponse(path, media_type=media_type, headers=HEADERS)


@router.get("/console")
def console() -> FileResponse:
    return _file("index.html")


@router.get("/console/", response_model=None)
def console_slash() -> RedirectResponse:
    return RedirectResponse("/console")


@router.get("/console/{relative:path}")
def console_asset(relative: str) -> FileResponse:
    return _file(relative)
