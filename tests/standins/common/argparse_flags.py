"""Build a strict argparse parser from a generated flag table (rows of catalog_flags.rows(): the catalog table of the image's version)."""
import argparse
import json
import re


def human_readable_int(value):
    """vLLM's --max-model-len / --max-num-batched-tokens type: 1024, 1k (1000), 1K (1024), 25.6k."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmMgGtT])", value)
    if m:
        num, suf = m.groups()
        mult = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}[suf.lower()] if suf.islower() else \
            {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[suf]
        if suf.isupper() and "." in num:
            raise argparse.ArgumentTypeError(f"Decimals are not allowed with binary suffixes like {suf}")
        return int(float(num) * mult)
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"Invalid number: {value!r}")


def _json(value):
    try:
        return json.loads(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"invalid JSON {value!r}: {e}")


def add_flags(parser, table):
    for opts, kind, extra in table:
        kw = {}
        if kind == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        elif kind == "true":
            kw["action"] = "store_true"
        elif kind == "int":
            kw["type"] = int
        elif kind == "float":
            kw["type"] = float
        elif kind == "hint":
            kw["type"] = human_readable_int
        elif kind == "json":
            kw["type"] = _json
        elif kind == "choice":
            kw["type"] = str
            if extra:
                kw["choices"] = list(extra)
        elif kind == "intchoice":
            kw["type"] = int
            kw["choices"] = list(extra)
        elif kind.startswith("list:"):
            kw["type"] = {"int": int, "float": float}.get(kind[5:], str)
            kw["nargs"] = "+"
        elif kind == "append":
            kw["action"] = "append"
        elif kind == "optstr":
            kw["nargs"] = "?"
            kw["const"] = True
        else:
            kw["type"] = str
        parser.add_argument(*opts, **kw)
    return parser
