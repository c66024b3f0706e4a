"""Stand-in for `vllm serve` and `python3 -m vllm.entrypoints.openai.api_server` of vllm/vllm-openai
(any catalog version); /usr/local/bin/vllm (tests/standins/vllm/vllm) runs serve_cli().

Flags: /opt/standin/flags.json, the catalog's table for the image's version (generator/data/flags/,
produced by `python -m tools.flags vllm <version>` from vLLM's own argument parser).
Behaviour imitated (source: the same wheel, see docs/reference/servers.md section 3):
- FlexibleArgumentParser: '--a_b' == '--a-b'; bool fields take --x / --no-x; bad values exit 2.
- positional model_tag is parsed but ignored by the module (only `vllm serve` copies it to --model,
  entrypoints/cli/serve.py), so the image's ENTRYPOINT + `serve` loads the default model
  Qwen/Qwen3-0.6B on port 8000.
- `--help=<keyword>` is taken as --help (the whole option list).
- --chat-template: file path or single-line template; a string with none of '{', '}', newline
  that is not an existing path is rejected at start.
- nothing listens while weights load; then GET /health, GET|POST /ping, POST /invocations
  (messages -> chat, prompt -> completion; needs Content-Type: application/json),
  /v1/chat/completions (SSE, ends with data: [DONE]), /v1/completions, /v1/models.
- the `model` request field, when given, must be a served name.
"""
import argparse
import os
import sys

sys.path.insert(0, "/opt/standin")
import standin_common as sc  # noqa: E402
from argparse_flags import add_flags  # noqa: E402
from catalog_flags import VERSION, rows  # noqa: E402

FLAGS = rows()

NAME = "vllm"


class FlexibleArgumentParser(argparse.ArgumentParser):
    def parse_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else args
        out = []
        for a in args:
            if a.startswith("--help="):
                out.append("--help")
            elif a.startswith("--"):
                if "=" in a:
                    k, v = a.split("=", 1)
                    head, dot, tail = k[2:].partition(".")
                    out.append("--" + head.replace("_", "-") + dot + tail + "=" + v)
                else:
                    head, dot, tail = a[2:].partition(".")
                    out.append("--" + head.replace("_", "-") + dot + tail)
            else:
                out.append(a)
        return super().parse_args(out, namespace)


def build_parser():
    p = FlexibleArgumentParser(prog="api_server.py", allow_abbrev=False,
                               description="vLLM OpenAI-Compatible RESTful API server (stand-in).")
    p.add_argument("model_tag", type=str, nargs="?")
    add_flags(p, FLAGS)
    p.set_defaults(model="Qwen/Qwen3-0.6B", port=8000)
    return p


def serve_cli():
    """`vllm serve [model_tag] [options]`: the positional model becomes --model."""
    if sys.argv[1:2] != ["serve"]:
        sys.stderr.write("usage: vllm [-h] [-v] {chat,complete,serve,bench,collect-env,run-batch} ...\n")
        sys.exit(2)
    main(sys.argv[2:], serve=True)


def main(argv=None, serve=False):
    sc.install_sigterm(0, NAME)
    parser = build_parser()
    if serve:
        parser.prog = "vllm serve"
    args = parser.parse_args(argv)
    if serve and args.model_tag is not None:
        args.model = args.model_tag
    ct = args.chat_template
    if ct is not None and not os.path.isfile(ct) and not any(c in ct for c in "{}\n"):
        raise ValueError(f"The supplied chat template string ({ct}) appears path-like, "
                         f"but doesn't exist!")
    tmpl, src = sc.read_template(ct)
    served = args.served_model_name or [args.model]
    sc.report(NAME, sys.argv[1:], tmpl, src, {"model": args.model, "served_model_name": served,
                                             "host": args.host, "port": args.port})
    sc.load_weights(NAME)
    sc.arm_death(NAME)

    def check_model(h, body):
        m = body.get("model") if isinstance(body, dict) else None
        if m is not None and m not in served:
            h.send_json(404, {"object": "error", "message": f"The model `{m}` does not exist.",
                              "type": "NotFoundError", "code": 404})
            return False
        return True

    def health(h):
        if sc.STATE["dead"]:
            return h.send_json(500, {"detail": "EngineDeadError"})
        h.send_raw(200, b"", "application/json")

    def chat(h):
        if not sc.json_required(h):
            return
        body = h.read_json()
        h.read_json = lambda: body
        if isinstance(body, dict) and not check_model(h, body):
            return
        sc.openai_chat(h, served[0])

    def completions(h):
        if not sc.json_required(h):
            return
        body = h.read_json()
        if not isinstance(body, dict) or "prompt" not in body:
            return h.send_json(400, {"object": "error", "message": "prompt is required", "code": 400})
        if not check_model(h, body):
            return
        text = "".join(sc._tokens(body))
        h.send_json(200, {"id": "cmpl-standin", "object": "text_completion", "model": served[0],
                          "choices": [{"index": 0, "text": text, "finish_reason": "stop"}]})

    def invocations(h):
        if not sc.json_required(h):
            return
        body = h.read_json()
        if isinstance(body, dict) and "messages" in body:
            h.read_json = lambda: body
            if not check_model(h, body):
                return
            return sc.openai_chat(h, served[0])
        if isinstance(body, dict) and "prompt" in body:
            h.read_json = lambda: body
            text = "".join(sc._tokens(body))
            return h.send_json(200, {"id": "cmpl-standin", "object": "text_completion", "model": served[0],
                                     "choices": [{"index": 0, "text": text, "finish_reason": "stop"}]})
        h.send_json(400, {"object": "error", "code": 400, "message":
                          "Expected one of ['ChatCompletionRequest', 'CompletionRequest', ...]"})

    routes = {
        ("GET", "/health"): health,
        ("GET", "/ping"): health,
        ("POST", "/ping"): health,
        ("POST", "/invocations"): invocations,
        ("POST", "/v1/chat/completions"): chat,
        ("POST", "/v1/completions"): completions,
        ("GET", "/v1/models"): lambda h: h.send_json(200, {"object": "list", "data": [
            {"id": n, "object": "model", "owned_by": "vllm"} for n in served]}),
        ("GET", "/version"): lambda h: h.send_json(200, {"version": VERSION}),
    }
    sc.serve_forever(NAME, args.host or "0.0.0.0", args.port, routes)


if __name__ == "__main__":
    main()
