"""The load of bench/results_page.py: locust users fetching a list of URLs in turn, no think time.

Run headless by that script, one locust process. Its plan is a JSON file (RESULTS_PLAN):
{"paths": [[name, path], ...], "timings": file}. Each user starts at its own place in the list
and fetches the next URL as soon as the last one answered (redirects not followed); anything but
200 is a failure. Each request's time in ms, per name, and the first failures are written to
the plan's `timings` file when the run stops, so percentiles are exact, not locust's buckets.
"""

from __future__ import annotations

import itertools
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from locust import HttpUser, constant, events, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["RESULTS_PLAN"]).read_text(encoding="utf-8"))
TIMES: defaultdict[str, list[float]] = defaultdict(list)
FAILURES: list[str] = []
_starts = itertools.count()


class Reader(HttpUser):
    """Someone reading the public results: the page, its downloads and the counter, in turn."""

    wait_time = constant(0)

    def on_start(self) -> None:
        paths = PLAN["paths"]
        offset = next(_starts) % len(paths)  # users spread over the list from the first second
        self.paths = itertools.cycle(paths[offset:] + paths[:offset])

    @task
    def fetch(self) -> None:
        name, path = next(self.paths)
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as got:
            if got.status_code == 200:
                got.success()
            else:
                got.failure(f"{got.status_code}: {got.text[:200]}")


@events.request.add_listener
def _timed(name: str, response_time: float, exception: Any, **_kwargs: Any) -> None:
    TIMES[name].append(response_time)
    if exception is not None and len(FAILURES) < 5:
        FAILURES.append(f"{name}: {exception}"[:300])


@events.test_stop.add_listener
def _write(**_kwargs: Any) -> None:
    Path(PLAN["timings"]).write_text(
        json.dumps({"times": TIMES, "failures": FAILURES}), encoding="utf-8"
    )
