"""Stand-in for `python3 -m sglang.launch_server` of lmsysorg/sglang (any catalog version).

Flags: /opt/standin/flags.json, the catalog's table for the image's version (generator/data/flags/,
produced by `python -m tools.flags sglang <version>` from ServerArgs.add_cli_args).
Behaviour imitated (same wheel: srt/entrypoints/http_server.py, srt/managers/template_manager.py;
see docs/reference/servers.md section 4):
- plain argparse: booleans are store_true only (no --no-x); '-' spelling only; --model-path required.
- --chat-template: a built-in template name, or an existing file (.jinja = HF template, other
  = JSON conversation config); anything else stops startup with RuntimeError.
- HTTP starts only after weights load; GET /health is 503 until warmup ends, GET /ping is
  always 200 up to 0.5.19 and the same as /health from 0.5.20; POST /invocations takes chat requests only; /v1/chat/completions needs
  Content-Type: application/json; streaming is SSE ending with data: [DONE].
"""
import argparse
import json
import os
import sys
import threading
import time

sys.path.insert(0, "/opt/standin")
import standin_common as sc  # noqa: E402
from argparse_flags import add_flags  # noqa: E402
from catalog_flags import VERSION, rows, version_tuple  # noqa: E402

FLAGS = rows()
# From 0.5.2x /ping is the engine's health: 503 until start-up (warm-up) completes (engines-2026.md 3).
PING_IS_HEALTH = version_tuple() >= (0, 5, 20)

NAME = "sglang"
# a few of the names registered in sglang/lang/chat_template.py (not exhaustive)
BUILTIN_TEMPLATES = {"chatml", "qwen", "qwen2-vl", "llama-2-chat", "llama-3-instruct",
                     "mistral", "gemma-it", "deepseek-v3", "vicuna_v1.1", "default"}


def main():
    sc.install_sigterm(0, NAME)
    p = argparse.ArgumentParser(prog="launch_server.py")
    add_flags(p, FLAGS)
    for a in p._actions:
        if "--model-path" in a.option_strings:
            a.required = True
    p.set_defaults(host="127.0.0.1", port=30000)
    args = p.parse_args()
    tmpl, src = None, None
    if args.chat_template is not None:
        ct = args.chat_template
        if ct in BUILTIN_TEMPLATES:
            tmpl, src = ct, "builtin"
        elif os.path.isfile(ct):
            tmpl, src = sc.read_template(ct)
            if not ct.endswith(".jinja"):
                try:
                    json.loads(tmpl)
                except ValueError as e:
                    raise RuntimeError(f"Failed to load chat template {ct}: {e}")
        else:
            raise RuntimeError(f"Chat template {ct} is not a built-in template name "
                               f"or a valid chat template file path.")
    served = args.served_model_name or args.model_path
    sc.report(NAME, sys.argv[1:], tmpl, src, {"model": args.model_path, "served_model_name": [served],
                                             "host": args.host, "port": args.port})
    sc.load_weights(NAME)

    def warmup():
        time.sleep(sc.fenv("STANDIN_WARMUP_DELAY", 0.5))
        sc.STATE["warm"] = True
        sc.log(f"[{NAME}] The server is fired up and ready to roll!")
        sc.arm_death(NAME)
    threading.Thread(target=warmup, daemon=True).start()

    def health(h):
        if not sc.STATE["warm"] or sc.STATE["dead"]:
            return h.send_raw(503, b"", "text/plain")
        h.send_raw(200, b"", "text/plain")

    def chat_v1(h):
        if not sc.json_required(h):
            return
        sc.openai_chat(h, served)

    routes = {
        ("GET", "/health"): health,
        ("GET", "/health_generate"): health,
        ("GET", "/ping"): health if PING_IS_HEALTH else (lambda h: h.send_raw(200, b"", "text/plain")),
        ("POST", "/invocations"): lambda h: sc.openai_chat(h, served),
        ("POST", "/v1/chat/completions"): chat_v1,
        ("GET", "/v1/models"): lambda h: h.send_json(200, {"object": "list", "data": [
            {"id": served, "object": "model", "owned_by": "sglang"}]}),
        ("GET", "/get_model_info"): lambda h: h.send_json(200, {"model_path": args.model_path}),
    }
    sc.serve_forever(NAME, args.host, args.port, routes)


if __name__ == "__main__":
    main()
