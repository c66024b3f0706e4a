"""The benchmark's timeline: its child times copier's real phases (a copier upgrade that renames them
fails here, not silently in a report), and the serial estimate is the sum the report says it is."""

from __future__ import annotations

import os

from benchmarks import timeline
from benchmarks.common import TRIVIAL, make_git_template


def test_timed_copy_marks_every_phase_in_order(tmp_path):
    template = make_git_template(TRIVIAL, tmp_path / "trivial")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    marks = timeline.timed_copy(["copy", "--trust", "--defaults", "-d", "name=bench", f"git+file://{template}",
                                 str(tmp_path / "out")], env, tmp_path, "trivial")
    assert (tmp_path / "out" / "hello.txt").read_text() == "Hello bench\n"   # copier really ran
    order = [marks[a] for _, a, _ in timeline.PHASES] + [marks["end"]]
    assert order == sorted(order), marks
    assert marks["_ask_end"] > marks["_ask_start"] and marks["_render_template_end"] > marks["_render_template_start"]
    assert 0 < marks["end"] < 60


def _run(**phases: float) -> dict:
    """A fake mark set whose phases (named by their label's first word) last as given, the rest 0."""
    t, marks = 0.0, {"start": 0.0}
    for label, _, b in timeline.PHASES:
        t += phases.get(label.split(",")[0].split(" ")[0], 0.0)
        marks[b] = t
    return marks


def test_serial_estimate_is_shape_floor_with_the_shortest_exit_plus_import_plus_latency():
    exit_ = {"interpreter": 0.2}
    raw = {"rows": {"floor": [_run(Python=0.8, **exit_)] * 3,
                    "same-shape floor": [_run(Python=0.8, clone=0.2, **exit_)] * 3,
                    "ours, cold, 0ms": [_run(Python=0.7, clone=0.2, questions=0.3, render=0.25, interpreter=0.05)] * 3,
                    "ours, cold, 200ms": [_run(Python=0.9, clone=0.2, questions=0.5, render=0.2, interpreter=0.04)] * 3,
                    timeline.PINNED: [_run(Python=0.8, clone=0.2, questions=0.05, render=0.2, interpreter=0.06)] * 3},
           "import_requests_s": [0.1, 0.12, 0.5], "pinned_hub_calls": [0, 0, 0]}
    s = timeline.summarize(raw)
    assert s["shape_over_floor_s"] == 0.2
    assert s["best_exit_s"] == 0.04 and s["shape_best_exit_over_floor_s"] == 0.04   # 0.2 - (0.2 - 0.04)
    assert s["rows"]["ours, cold, 0ms"]["over_floor_s"] == 0.6   # the first phase (Python) left out
    assert s["import_requests_s"] == 0.12
    assert s["serial_over_floor_s"] == {"0ms": 0.16, "200ms": 0.36}
    assert s["hub_read_in_questions_s"] == {"0ms": 0.25, "200ms": 0.45}
    text = "\n".join(timeline.markdown(s, 0.25) + timeline.findings(s, 0.25))
    assert "0ms: **+0.160 s** (target +0.25 s)" in text and "200ms: **+0.360 s** (target +0.45 s)" in text
    assert "our cold copy is +0.600 s over the floor (target +0.25 s, missed)" in text
    assert "the serial estimate is +0.160 s, ours is 0.440 s above it." in text
