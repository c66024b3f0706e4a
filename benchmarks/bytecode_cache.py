"""Does a Jinja bytecode cache pay for this template? (issue 22, item 1)

Three checkouts of the template, each a git repository copied from this working tree:

- ``patched``: the tree as it was before the patches left ``extensions/context.py`` (``--before``,
  default 6523066: from_string memo, frame walk, gc.freeze at exit, the Worker monkeypatch, the
  custom bytecode cache, compiling while the hub is read);
- ``plain``: today's extension, no bytecode cache;
- ``plain+bcc``: today's extension plus Jinja's own ``FileSystemBytecodeCache`` as documented
  (``environment.bytecode_cache = FileSystemBytecodeCache(folder)``), the folder kept between runs;
- ``floor``: the trivial template of ``common.TRIVIAL`` (one question, one file).

Each run is ``python -m copier copy --trust --defaults`` offline (``HF_HUB_OFFLINE=1``, the shipped
metadata of Qwen/Qwen2.5-0.5B-Instruct: no hub, so only template work differs) into a new folder,
after one warm-up run per checkout (the bytecode cache is then warm, as on a user's second copy).
The checkouts take turns, in a rotating order, so that other load on the machine spreads over all.
Reports the median wall and CPU time (user + sys, git children included).

    python benchmarks/bytecode_cache.py --runs 12              # offline
    python benchmarks/bytecode_cache.py --runs 8 --hub-ms 200  # online, cold hub cache, + plain+compile
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import (MODEL, ROOT, TEMPLATE_PATHS, TRIVIAL, base_env, copier_cli,  # noqa: E402
                               copy_template_paths, make_git_template, median)

BCC_LINE = "        super().__init__(environment)\n"


def _archive(commit: str, dst: Path) -> None:
    data = subprocess.run(["git", "archive", commit, *TEMPLATE_PATHS], cwd=ROOT, capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dst, filter="data")


MODEL_PIN = '''@pass_context
def model_pin(ctx) -> str:
    return _call(ctx, "model_pin")
'''
# the step removed with the patches (not one of them): compile the file templates through Jinja's own
# get_template cache while the background hub read is on the wire
COMPILE_WHILE_READING = MODEL_PIN.replace("    return _call", "    _compile_while_reading(ctx.environment)\n    return _call") + '''

def _compile_while_reading(environment) -> None:
    hub = _hook("hub")
    if not hub.reading():
        return
    for path in sorted(_ROOT.glob("template/**/*.jinja"), key=lambda p: -p.stat().st_size):
        if not hub.reading():
            return
        try:
            environment.get_template(path.relative_to(_ROOT).as_posix())
        except Exception:
            return
'''


def checkouts(work: Path, before: str, compile_variant: bool = False) -> dict[str, Path]:
    out = {}
    src = work / "patched-src"
    src.mkdir()
    _archive(before, src)
    out["patched"] = make_git_template(None, work / "patched", copy_from=src)
    out["plain"] = make_git_template(None, work / "plain", copy_from=ROOT)
    bcc = work / "bcc-src"
    bcc.mkdir()
    copy_template_paths(ROOT, bcc)
    ext = bcc / "extensions" / "context.py"
    text = ext.read_text()
    assert BCC_LINE in text, "ContextExtension.__init__ changed: update BCC_LINE"
    folder = work / "jinja-bcc"
    folder.mkdir()
    text = text.replace(BCC_LINE, BCC_LINE + "        from jinja2 import FileSystemBytecodeCache\n"
                        f"        environment.bytecode_cache = FileSystemBytecodeCache({str(folder)!r})\n", 1)
    ext.write_text(text)
    out["plain+bcc"] = make_git_template(None, work / "plain+bcc", copy_from=bcc)
    if compile_variant:
        cw = work / "cw-src"
        cw.mkdir()
        copy_template_paths(ROOT, cw)
        ext = cw / "extensions" / "context.py"
        text = ext.read_text()
        assert MODEL_PIN in text, "model_pin changed: update MODEL_PIN"
        ext.write_text(text.replace(MODEL_PIN, COMPILE_WHILE_READING, 1))
        out["plain+compile"] = make_git_template(None, work / "plain+compile", copy_from=cw)
    out["floor"] = make_git_template(TRIVIAL, work / "floor")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--before", default="6523066")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--hub-ms", type=int, help="online instead: tests/hubsim.py's hub adding this latency "
                        "per request, a cold hub cache for every copy, and a plain+compile checkout")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-bcc-"))
    stack = contextlib.ExitStack()
    try:
        templates = checkouts(work, args.before, compile_variant=args.hub_ms is not None)
        if args.hub_ms is None:
            url = "http://127.0.0.1:9"
        else:
            from hubsim import Hub, HubServer
            url = stack.enter_context(HubServer(Hub(latency_s=args.hub_ms / 1000))).url
        samples: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in templates}
        for i in range(args.runs + 1):
            names = list(templates)
            names = names[i % len(names):] + names[:i % len(names)]   # each checkout runs in every position
            for name in names:
                template = templates[name]
                dst = work / "out" / f"{name}-{i}"
                env = base_env(url, work / "cache" / (f"{name}-{i}" if args.hub_ms is not None else ""), work)
                if args.hub_ms is None:
                    env["HF_HUB_OFFLINE"] = "1"
                data = [] if name == "floor" else ["-d", f"modelName={MODEL}"]
                wall, r = copier_cli(["copy", "--trust", "--defaults", *data, f"git+file://{template}", str(dst)],
                                     env, work)
                if i:   # run 0 warms the caches
                    samples[name]["wall"].append(wall)
                    samples[name]["cpu"].append(r.cpu_s)
                shutil.rmtree(dst)
        result = {name: {k: round(median(v), 3) for k, v in s.items()} for name, s in samples.items()}
        result["runs"] = args.runs
        # Jinja keys a bucket by the template's file name, and copier clones the template into a new
        # temporary folder for every run: one file per template per run means no run hit the cache
        result["bytecode_files"] = len(list((work / "jinja-bcc").iterdir()))
        result["copies_with_bcc"] = args.runs + 1
        result["hub_ms"] = args.hub_ms
        result["samples"] = {name: {k: [round(x, 3) for x in v] for k, v in s.items()} for name, s in samples.items()}
        print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
        if args.out:
            args.out.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        stack.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
