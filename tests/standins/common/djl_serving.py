#!/usr/bin/python3
"""Stand-in for /usr/bin/djl-serving in the LMI and DJL Serving images (any catalog version).

Sources: deepjavalibrary/djl-serving branch 0.32.0-dlc (serving/docker/lmi.Dockerfile,
pytorch-gpu.Dockerfile, config.properties, wlm/.../ModelInfo.java, util/ModelStore.java,
ConfigManager.java, http/InferenceRequestHandler.java, engines/python/setup/djl_python/
properties_manager/*.py, output_formatter.py); see docs/reference/servers.md 6 and 7.
Behaviour imitated:
- global config from /opt/djl/conf/config.properties, SERVING_<KEY> env overrides it.
- option names and kinds: /opt/standin/flags.json (the catalog's table for the version).
- DJL (HF Accelerate, rolling_batch=disable): {"inputs", "parameters"} -> [{"generated_text"}] with the
  prompt echoed; chat bodies fail (424), as they do upstream (engines-2026.md section 4).
- model: /opt/ml/model/serving.properties (Java .properties syntax) when /opt/ml/model holds
  files, else HF_MODEL_ID; OPTION_<KEY> env -> option.<key> only when absent from the file
  (serving.properties wins), OPTION_ENGINE -> engine; TENSOR_PARALLEL_DEGREE default.
- unknown keys or badly typed values fail the model load -> exit 1 (the LMI vLLM backend hands
  unknown option.* keys to vLLM's argument parser, which rejects them).
- nothing listens until the model is loaded; GET /ping, POST /invocations and
  POST /v1/chat/completions (same handler); chat streaming is application/jsonlines of
  chat.completion.chunk objects (no SSE, no [DONE]); the chat `model` field defaults to "lmi".
- LMI with option.rolling_batch unset or auto (LMI 29's path: LmiConfigRecommender.java ~69-71 at
  0.36.0-lmi27-dlc sets async_mode, PyModel.java ~189-190 picks djl_python.lmi_vllm.
  vllm_async_service): the model is registered as option.served_model_name, else "lmi"
  (vllm_async_service.py ~137-147), and a chat request naming another model gets vLLM's 404.
  With rolling_batch=vllm (LMI 14's path) any request model is taken (vllm_chat_utils.py ~42).
- HF_TOKEN is the token variable read.
"""
import os
import re
import sys

sys.path.insert(0, "/opt/standin")
import standin_common as sc  # noqa: E402

FLAVOR = open("/opt/standin/flavor").read().strip()  # "lmi" or "djl"
NAME = "djl-serving"

TOP_KEYS = {"engine", "job_queue_size", "batch_size", "max_batch_delay", "max_idle_time",
            "minWorkers", "maxWorkers", "gpu.minWorkers", "gpu.maxWorkers", "cpu.minWorkers",
            "cpu.maxWorkers", "load_on_devices", "required_memory_mb", "reserved_memory_mb",
            "translator", "translatorFactory", "application", "log_model_metric"}


def lmi_option_types():
    """option.<key> -> kind, from /opt/standin/flags.json: the catalog's table for this version
    (djl-serving's properties classes; for LMI plus its vLLM's flags, which it passes through)."""
    from catalog_flags import TABLE
    kinds = {"bool": "bool", "flag": "bool", "int": "int", "float": "float"}
    out = {}
    for row in TABLE["flags"]:
        for n in row["names"]:
            out[n.lstrip("-")] = kinds.get(row["kind"], "str")
    out.update({"rolling_batch": "rb", "tensor_parallel_degree": "tp", "dtype": "dtype"})
    return out


def parse_properties(text):
    """java.util.Properties.load semantics (enough of them)."""
    props = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].lstrip(" \t\f")
        i += 1
        if not line or line[0] in "#!":
            continue
        while True:  # continuation: odd number of trailing backslashes
            m = re.search(r"(\\*)$", line)
            if len(m.group(1)) % 2 == 1 and i <= len(lines):
                line = line[:-1] + (lines[i].lstrip(" \t\f") if i < len(lines) else "")
                i += 1
                if i > len(lines):
                    break
            else:
                break
        key, j, n = [], 0, len(line)
        while j < n:
            c = line[j]
            if c == "\\" and j + 1 < n:
                key.append(line[j:j + 2])
                j += 2
                continue
            if c in "=: \t\f":
                break
            key.append(c)
            j += 1
        while j < n and line[j] in " \t\f":
            j += 1
        if j < n and line[j] in "=:":
            j += 1
        while j < n and line[j] in " \t\f":
            j += 1
        props[_unescape("".join(key))] = _unescape(line[j:])
    return props


def _unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            d = s[i + 1]
            if d == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", s[i + 2:i + 6] or ""):
                out.append(chr(int(s[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(d, d))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def fail(msg):
    sc.log(f"[{NAME}] ERROR {msg}")
    sc.log(f"[{NAME}] ERROR Failed to load model, stopping model server")
    sys.exit(1)


def check_value(key, typ, val):
    v = val.strip()
    if typ == "int" and not re.fullmatch(r"-?\d+", v):
        fail(f"{key}: value '{val}' is not a valid integer")
    if typ == "float":
        try:
            float(v)
        except ValueError:
            fail(f"{key}: value '{val}' is not a valid number")
    if typ == "bool" and v.lower() not in ("true", "false"):
        fail(f"{key}: value '{val}' is not a valid boolean (true/false)")
    if typ == "tp" and v != "max" and not re.fullmatch(r"\d+", v):
        fail(f"{key}: value '{val}' must be an integer or 'max'")
    if typ == "dtype" and v not in ("auto", "fp16", "bf16", "fp32", "float16", "bfloat16", "float32"):
        fail(f"{key}: value '{val}' is not one of fp16, bf16, fp32, auto")
    from catalog_flags import TABLE
    rbs = next((tuple(r["choices"]) for r in TABLE["flags"] if "rolling_batch" in r["names"] and r.get("choices")),
               ("auto", "vllm", "lmi-dist", "disable", "scheduler") if FLAVOR == "lmi" else ("auto", "disable", "scheduler"))
    if typ == "rb" and v not in rbs:
        fail(f"{key}: rolling_batch '{val}' is not one of {', '.join(rbs)}")


def main():
    argv = sys.argv[1:]
    i = 0
    while i < len(argv):  # djl-serving's own CLI: -f, -m, -s, -w, -h
        if argv[i] in ("-f", "--config-file", "-m", "--models", "-s", "--model-store",
                       "-w", "--workflows") and i + 1 < len(argv):
            i += 2
        elif argv[i] in ("-h", "--help"):
            print("usage: djl-serving [OPTIONS]")
            sys.exit(0)
        else:
            sys.stderr.write(f"Unrecognized option: {argv[i]}\nusage: djl-serving [OPTIONS]\n")
            sys.exit(1)
    sc.install_sigterm(0, NAME)
    with open("/opt/djl/conf/config.properties") as f:
        glob = parse_properties(f.read())
    for k, v in os.environ.items():
        if k.startswith("SERVING_") and k != "SERVING_FEATURES":
            glob[k[8:].lower()] = v
    model_dir = "/opt/ml/model"
    props, sp_text = {}, None
    has_files = os.path.isdir(model_dir) and any(
        os.path.isfile(os.path.join(model_dir, n)) for n in os.listdir(model_dir))
    if has_files and os.path.isfile(os.path.join(model_dir, "serving.properties")):
        with open(os.path.join(model_dir, "serving.properties"), encoding="utf-8") as f:
            sp_text = f.read()
        props = parse_properties(sp_text)
    elif os.environ.get("HF_MODEL_ID"):
        props = {"option.model_id": os.environ["HF_MODEL_ID"]}
        if os.environ.get("HF_REVISION"):
            props["option.revision"] = os.environ["HF_REVISION"]
    elif not has_files:
        sc.log(f"[{NAME}] WARN No model found in {model_dir} and HF_MODEL_ID is unset")
    for k, v in os.environ.items():  # OPTION_* env: putIfAbsent, so serving.properties wins
        if k.startswith("OPTION_"):
            key = "engine" if k == "OPTION_ENGINE" else "option." + k[7:].lower()
            props.setdefault(key, v)
    if props and "option.tensor_parallel_degree" not in props:
        props["option.tensor_parallel_degree"] = os.environ.get("TENSOR_PARALLEL_DEGREE", "max")
    types = lmi_option_types()
    for k, v in props.items():
        if k.startswith("option."):
            t = types.get(k[7:])
            if t is None:
                fail(f"Unknown option: {k} (not a recognized {FLAVOR} option)")
            check_value(k, t, v)
        elif k not in TOP_KEYS:
            fail(f"Unknown configuration key: {k}")
    if props.get("engine") not in (None, "Python", "MPI"):
        fail(f"engine={props['engine']} is not supported by this container")
    ct = props.get("option.chat_template")
    sc.report(f"{FLAVOR}", argv, ct, "option.chat_template" if ct is not None else None,
              {"serving_properties": sp_text, "effective_properties": props, "global": glob,
               "model": props.get("option.model_id")})
    sc.load_weights(NAME)
    if not props:
        sc.log(f"[{NAME}] WARN no model loaded")
    sc.arm_death(NAME)
    async_vllm = FLAVOR == "lmi" and props.get("option.rolling_batch", "auto") == "auto"
    model_name = (props.get("option.served_model_name") if async_vllm else None) or "lmi"

    def ping(h):
        if sc.STATE["dead"]:
            return h.send_json(500, {"status": "Unhealthy"})
        h.send_json(200, {})

    def invoke(h):
        if not props:
            return h.send_json(404, {"code": 404, "type": "ModelNotFoundException",
                                     "message": "No model found"})
        body = h.read_json()
        if isinstance(body, dict) and "messages" in body:
            if FLAVOR == "djl":
                # HF Accelerate (rolling_batch=disable): the chat parser adds details/output_formatter,
                # which reach model.generate and transformers raises (chat_utils.py L88-92 at 0.32.0-dlc)
                return h.send_json(424, {"code": 424, "message": "prediction failure", "error":
                                         "ValueError: The following `model_kwargs` are not used by the model: "
                                         "['details', 'output_formatter']"})
            asked = body.get("model")
            if async_vllm and asked is not None and asked != model_name:
                return h.send_json(404, {"object": "error", "message": f"The model `{asked}` does not exist.",
                                         "type": "NotFoundError", "code": 404})
            h.read_json = lambda: body
            return sc.openai_chat(h, model_name, jsonlines=True)
        if isinstance(body, dict) and "inputs" in body:
            text = "".join(sc._tokens(body.get("parameters") or {}))
            if FLAVOR == "djl":   # huggingface.py: the whole sequence is decoded, prompt included
                return h.send_json(200, [{"generated_text": str(body["inputs"]) + text}])
            return h.send_json(200, {"generated_text": text})
        h.send_json(424, {"code": 424, "message": "prediction failure", "error": "invalid input"})

    routes = {
        ("GET", "/ping"): ping,
        ("POST", "/invocations"): invoke,
        ("POST", "/v1/chat/completions"): invoke,
        ("GET", "/models"): lambda h: h.send_json(200, {"models": [{"modelName": "model"}] if props else []}),
    }
    addr = glob.get("inference_address", "http://0.0.0.0:8080")
    m = re.match(r"https?://([^:/]+):(\d+)", addr)
    sc.serve_forever(NAME, m.group(1), int(m.group(2)), routes)


if __name__ == "__main__":
    main()
