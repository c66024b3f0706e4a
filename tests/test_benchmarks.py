"""The benchmark's timeline: its child times copier's real phases (a copier upgrade that renames them
fails here, not silently in a report), and the serial estimate is the sum the report says it is."""

from __future__ import annotations

import os
from pathlib import Path

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


# benchmarks/serving_overhead.py: the pure parts (the engine run itself is not a test) -------------

def _level(concurrency: int, tps: float, ttft_s: float, tokens: float = 100.0) -> dict:
    return {"concurrency": concurrency, "output_tokens_per_s": tps, "ttft_s": {"p50": ttft_s},
            "itl_s": {"p50": 0.002}, "mean_input_tokens": tokens, "errors": 0}


def test_serving_overhead_rotation_puts_every_target_first_once():
    from benchmarks.serving_overhead import rotation

    order = rotation(("bare", "project", "project-openai"), 4)
    assert order == [["bare", "project", "project-openai"], ["project", "project-openai", "bare"],
                     ["project-openai", "bare", "project"], ["bare", "project", "project-openai"]]
    assert rotation(("direct", "nginx"), 2) == [["direct", "nginx"], ["nginx", "direct"]]


def test_serving_overhead_summary_pairs_each_round_with_the_base():
    """Ratios and differences are taken per round (a round's load falls on both), then their median
    and range; a target's own figures are summarized over the rounds."""
    from benchmarks.serving_overhead import markdown_section, summarize

    runs = []
    for n, (bare, project) in enumerate([(1000, 900), (500, 550), (800, 800)]):
        runs.append({"round": n, "target": "bare", "levels": [_level(1, bare / 4, 0.010), _level(4, bare, 0.020 + n / 1000)]})
        runs.append({"round": n, "target": "project", "levels": [_level(1, project / 4, 0.012, 120),
                                                                  _level(4, project, 0.025 + n / 1000, 120)]})
    s = summarize(runs, "bare", ("project",))
    assert list(s) == [1, 4]
    four = s[4]
    assert four["targets"]["bare"]["output_tokens_per_s"] == {"median": 800, "min": 500, "max": 1000, "n": 3}
    ratio = four["against_bare"]["project"]["throughput_ratio"]
    assert (ratio["median"], ratio["min"], ratio["max"]) == (1.0, 0.9, 1.1)   # not 800 / 800 by chance: per round
    diff = four["against_bare"]["project"]["ttft_p50_diff_ms"]
    assert diff["n"] == 3 and abs(diff["median"] - 5.0) < 1e-9 and abs(diff["min"] - 5.0) < 1e-9
    assert four["targets"]["project"]["mean_input_tokens"]["median"] == 120
    text = "\n".join(markdown_section("t", s, "bare"))
    assert "| 4 | project | 800 (550 .. 900) | 26.0 (25.0 .. 27.0) |" in text
    assert "| 1.000 (0.900 .. 1.100) | +5.0 (+5.0 .. +5.0) |" in text
    assert "| 4 | bare | 800 (500 .. 1000) |" in text and "| 1 | 0 |" in text


def test_serving_overhead_moves_the_projects_nginx_conf_and_notices_a_changed_one(tmp_path):
    import pytest

    from benchmarks.serving_overhead import nginx_conf

    conf = (Path(__file__).parent / "golden" / "tensorrt-llm-1.2.1" / "code" / "nginx.conf").read_text()
    moved = nginx_conf(conf, 9001, 9002, tmp_path)
    assert "server 127.0.0.1:9001;" in moved and "listen 127.0.0.1:9002 default_server;" in moved
    assert "/tmp/engine-ready" not in moved and f"pid {tmp_path}/nginx.pid;" in moved
    with pytest.raises(ValueError, match="listen 8080"):
        nginx_conf(conf.replace("listen 8080", "listen 80"), 1, 2, tmp_path)


def test_serving_overhead_counts_the_cpu_of_a_process_tree():
    from benchmarks.serving_overhead import descendants

    stats = {1: (0, 5.0), 10: (1, 1.0), 11: (10, 2.0), 12: (11, 0.5), 20: (1, 9.0)}
    assert descendants(stats, 10) == {10, 11, 12}
    assert descendants(stats, 12) == {12}
