"""What `python -m deploy bench` measured, as numbers and files (no I/O to AWS or the server).

- ``Sample``: one request: ``ttft`` (s from sending to the first generated text), ``latency`` (s
  to the end of the stream), ``output_tokens`` / ``input_tokens`` (the engine's ``usage``:
  ``completion_tokens`` / ``prompt_tokens``; None when the server sent none), ``error`` (a kind:
  ``http_503``, ``timeout``, ``connection``, ``server_error``, ``no_tokens``, an AWS error code, ...).
- ``summarize(concurrency, samples, duration_s, usd_per_hour)``: one level of bench.json.
  Percentiles are linear between closest ranks (numpy's default, as ``vllm bench serve`` uses).
  ``itl_s`` is per request (latency - ttft) / (output_tokens - 1): the mean time between output
  tokens after the first, from the token count the engine reports (not from counting chunks,
  which engines batch). ``output_tokens_per_s``: all output tokens of the level over its wall
  time (first request sent to last answer finished); ``requests_per_s`` likewise for requests
  that succeeded. ``usd_per_million_output_tokens`` = usd_per_hour / (output_tokens_per_s * 3600)
  * 1e6: what a million output tokens cost when the instance runs at this level's throughput all
  hour (an idle endpoint still bills); ``usd_per_million_input_tokens`` the same for prompt tokens.
- ``markdown(report)`` (bench.md and the table printed at the end), ``write(report, out_dir)``
  (bench.json, bench.md, bench.png; the png needs matplotlib, an optional install: without it the
  png is skipped and the report says so; the command does not fail).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PLOT_INSTALL = "pip install matplotlib"


@dataclass
class Sample:
    ttft: float | None = None
    latency: float | None = None
    output_tokens: int | None = None
    input_tokens: int | None = None
    chunks: int = 0
    error: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def itl(self) -> float | None:
        if not self.ok or self.ttft is None or self.latency is None or not self.output_tokens \
                or self.output_tokens < 2:
            return None
        return (self.latency - self.ttft) / (self.output_tokens - 1)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between closest ranks; None for no values."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def spread(values: list[float]) -> dict[str, float | None]:
    return {name: _round(percentile(values, q)) for name, q in (("p50", 50), ("p90", 90), ("p99", 99))}


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def per_million(usd_per_hour: float | None, tokens_per_s: float | None) -> float | None:
    """USD per million tokens at ``tokens_per_s`` on an instance billed ``usd_per_hour``."""
    if not usd_per_hour or not tokens_per_s:
        return None
    return usd_per_hour / (tokens_per_s * 3600.0) * 1e6


def summarize(concurrency: int, samples: list[Sample], duration_s: float,
              usd_per_hour: float | None) -> dict[str, Any]:
    ok = [s for s in samples if s.ok]
    errors: dict[str, int] = {}
    for s in samples:
        if not s.ok:
            errors[s.error or "error"] = errors.get(s.error or "error", 0) + 1
    with_usage = [s for s in ok if s.output_tokens is not None]
    out_tokens = sum(s.output_tokens or 0 for s in with_usage)
    in_known = [s for s in ok if s.input_tokens is not None]
    in_tokens = sum(s.input_tokens or 0 for s in in_known)
    out_tps = out_tokens / duration_s if with_usage and duration_s > 0 else None
    in_tps = in_tokens / duration_s if in_known and duration_s > 0 else None
    return {
        "concurrency": concurrency,
        "requests": len(samples),
        "succeeded": len(ok),
        "errors": len(samples) - len(ok),
        "errors_by_kind": dict(sorted(errors.items())),
        "without_usage": len(ok) - len(with_usage),
        "duration_s": _round(duration_s),
        "ttft_s": spread([s.ttft for s in ok if s.ttft is not None]),
        "itl_s": spread([s.itl for s in ok if s.itl is not None]),
        "latency_s": spread([s.latency for s in ok if s.latency is not None]),
        "output_tokens": out_tokens if with_usage else None,
        "input_tokens": in_tokens if in_known else None,
        "mean_output_tokens": _round(out_tokens / len(with_usage), 2) if with_usage else None,
        "mean_input_tokens": _round(in_tokens / len(in_known), 2) if in_known else None,
        "output_tokens_per_s": _round(out_tps, 3),
        "input_tokens_per_s": _round(in_tps, 3),
        "requests_per_s": _round(len(ok) / duration_s, 4) if duration_s > 0 else None,
        "usd_per_million_output_tokens": _round(per_million(usd_per_hour, out_tps), 4),
        "usd_per_million_input_tokens": _round(per_million(usd_per_hour, in_tps), 4),
    }


# Files --------------------------------------------------------------------------------------

def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def _num(value: float | None, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def table(levels: list[dict]) -> str:
    head = ("| concurrency | requests | errors | TTFT p50 / p90 / p99 ms | ITL p50 / p90 / p99 ms "
            "| latency p50 / p90 / p99 s | output tok/s | req/s | $ / 1M output tokens | $ / 1M input tokens |")
    rows = [head, "|" + "---:|" * 10]
    for lv in levels:
        t, i, e = lv["ttft_s"], lv["itl_s"], lv["latency_s"]
        rows.append(
            f"| {lv['concurrency']} | {lv['requests']} | {lv['errors']} "
            f"| {_ms(t['p50'])} / {_ms(t['p90'])} / {_ms(t['p99'])} "
            f"| {_ms(i['p50'])} / {_ms(i['p90'])} / {_ms(i['p99'])} "
            f"| {_num(e['p50'], '{:.2f}')} / {_num(e['p90'], '{:.2f}')} / {_num(e['p99'], '{:.2f}')} "
            f"| {_num(lv['output_tokens_per_s'])} | {_num(lv['requests_per_s'], '{:.2f}')} "
            f"| {_num(lv['usd_per_million_output_tokens'], '{:.2f}')} "
            f"| {_num(lv['usd_per_million_input_tokens'], '{:.2f}')} |")
    return "\n".join(rows)


def price_line(report: dict) -> str:
    price = report.get("price_usd_per_hour")
    if not price:
        return ("No hourly price is known for this instance type and region, so there are no cost columns: "
                "pass --price-usd-per-hour (see https://aws.amazon.com/sagemaker/pricing/, Real-Time Inference).")
    kind = report.get("price_kind")
    what = {"hosting": "SageMaker real-time hosting, on demand", "override": "given with --price-usd-per-hour",
            "training": "a SageMaker TRAINING rate (no hosting rate was known): an estimate only"}.get(kind, kind)
    return (f"Price: {report.get('instance_type')} at ${price}/hour ({what}; {report.get('price_region')}; "
            f"source: {report.get('price_source')}; {report.get('price_date')}). Cost per million tokens assumes the "
            "instance runs at the level's throughput for the whole hour.")


def markdown(report: dict) -> str:
    target = report["target"]
    where = target.get("url") or f"endpoint {target.get('endpoint_name')}" + (
        f" (inference component {target['inference_component']})" if target.get("inference_component") else "")
    load = report["load"]
    prompt = (f"prompts from {load['prompts_file']}" if load.get("prompts_file")
              else f"~{load.get('prompt_tokens')}-token prompts")
    lines = [
        f"# Benchmark of {report.get('model')} ({report.get('server')})",
        "",
        f"{report.get('started_at')}: {where}; {load['requests_per_level']} streamed requests per level, "
        f"max_tokens {load['max_tokens']}, {prompt}.",
        "",
        table(report["levels"]),
        "",
        price_line(report),
    ]
    if target.get("kind") == "url":
        lines.append("This run measured the local container, not the instance: its cost columns price this "
                     "machine's throughput at the instance's rate.")
    lines += [f"- {note}" for note in report.get("notes", [])]
    return "\n".join(lines) + "\n"


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value


def plot(report: dict, path: Path) -> str | None:
    """bench.png: latency percentiles and throughput against concurrency. Returns a note when it
    cannot (matplotlib missing), else None."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return f"bench.png skipped: matplotlib is not installed ({PLOT_INSTALL})"
    levels = report["levels"]
    conc = [lv["concurrency"] for lv in levels]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label in (("ttft_s", "TTFT"), ("latency_s", "end-to-end")):
        for pct, style in (("p50", "-o"), ("p90", "--o")):
            left.plot(conc, [_nan(lv[key][pct]) for lv in levels], style, label=f"{label} {pct}")
    left.set_xscale("log", base=2)
    left.set_xticks(conc, [str(c) for c in conc])
    left.set_xlabel("concurrent requests")
    left.set_ylabel("seconds")
    left.set_title("latency")
    left.legend()
    right.plot(conc, [_nan(lv["output_tokens_per_s"]) for lv in levels], "-o", label="output tokens/s")
    right.set_xscale("log", base=2)
    right.set_xticks(conc, [str(c) for c in conc])
    right.set_xlabel("concurrent requests")
    right.set_ylabel("output tokens / s")
    right.set_title("throughput" + (" and $ / 1M output tokens" if report.get("price_usd_per_hour") else ""))
    if report.get("price_usd_per_hour"):
        cost = right.twinx()
        cost.plot(conc, [_nan(lv["usd_per_million_output_tokens"]) for lv in levels], "--s", color="tab:red",
                  label="$ / 1M output tokens")
        cost.set_ylabel("$ / 1M output tokens")
    fig.suptitle(f"{report.get('model')} ({report.get('server')}), {report.get('instance_type') or ''}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def write(report: dict, out_dir: str | Path) -> list[str]:
    """Writes bench.json, bench.md and (with matplotlib) bench.png; returns notes for the user."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    note = plot(report, out / "bench.png")
    report["plot"] = None if note else "bench.png"
    if note:
        report.setdefault("notes", []).append(note)
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "bench.md").write_text(markdown(report), encoding="utf-8")
    return [note] if note else []
