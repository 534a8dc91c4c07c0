"""The results benchmark's baseline: bytes read once from files, served by a bare Django view.

bench/results_page.py saves each public results URL's answer (the same body and content type) in
the folder BENCH_BASELINE_PAGES with a manifest, `pages.json` ({name: content type}); the view
answers `page/<name>` with those bytes through the same middleware, no query and no template:
the floor of what the same stack can serve at the same size.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

MANIFEST = "pages.json"


@functools.cache
def _pages() -> dict[str, tuple[bytes, str]]:
    folder = Path(os.environ.get("BENCH_BASELINE_PAGES", ""))
    if not (folder / MANIFEST).is_file():
        return {}
    types = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return {name: ((folder / name).read_bytes(), kind) for name, kind in types.items()}


@require_http_methods(["GET"])
def stored_page(request: HttpRequest, name: str) -> HttpResponse:
    """The stored bytes of `name`, with their content type; 404 for a name not stored."""
    found = _pages().get(name)
    if found is None:
        raise Http404("No such page.")
    body, kind = found
    return HttpResponse(body, content_type=kind)
