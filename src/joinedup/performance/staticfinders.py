"""Serve the charting library's JavaScript from the `plotly` Python package, as our own static
file `performance/plotly.min.js` (never from a CDN).

Only that one file of the package is exposed (not its data sets or widget bundle), so
`collectstatic` copies one file and the pages load it from our own origin, which the Content
Security Policy allows.
"""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

PACKAGE_DATA = Path(plotly.__file__).resolve().parent / "package_data"
SERVED = {"performance/plotly.min.js": "plotly.min.js"}


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.storage = FileSystemStorage(location=str(PACKAGE_DATA))
        self.storage.prefix = "performance"

    def check(self, **kwargs):
        missing = [name for name in SERVED.values() if not (PACKAGE_DATA / name).exists()]
        return [Error(f"plotly's {name} is missing from {PACKAGE_DATA}") for name in missing]

    def find(self, path, find_all=False, **kwargs):
        name = SERVED.get(path)
        if name is None:
            return [] if find_all else None
        found = str(PACKAGE_DATA / name)
        return [found] if find_all else found

    def list(self, ignore_patterns):
        for name in SERVED.values():
            yield name, self.storage
