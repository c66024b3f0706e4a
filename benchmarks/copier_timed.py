"""Child of timeline.py: runs the copier CLI (arguments as `python -m copier` takes them) and writes
when copier's phases began and ended, in seconds since ``$BENCH_T0`` (the parent's ``time.time()``
just before it started this process), to the JSON file ``$BENCH_TIMELINE_OUT``.

Standard library and copier only: anything more imported here would count in the phases."""
import atexit
import json
import os
import sys
import time

T0 = float(os.environ["BENCH_T0"])
MARKS: dict = {}


def mark(name: str) -> None:
    MARKS.setdefault(name, time.time() - T0)   # the first time only


def write() -> None:
    mark("exit_handlers_done")
    with open(os.environ["BENCH_TIMELINE_OUT"], "w", encoding="utf-8") as f:
        json.dump(MARKS, f)


atexit.register(write)   # registered first, so it runs after every other exit handler

from copier import _main  # noqa: E402
from copier._cli import CopierApp  # noqa: E402


def _timed(name: str, fn):
    def timed(self, *args, **kwargs):
        mark(name + "_start")
        try:
            return fn(self, *args, **kwargs)
        finally:
            mark(name + "_end")
    return timed


for _name in ("run_copy", "_ask", "_render_template"):
    setattr(_main.Worker, _name, _timed(_name, getattr(_main.Worker, _name)))
mark("imported")
sys.argv = ["copier", *sys.argv[1:]]
CopierApp.run()
