"""SageMaker JumpStart as a model source (issue 25, item 3): ``modelSource=jumpstart``.

``modelName`` is then a JumpStart model id (``meta-textgeneration-llama-3-1-70b``). Read over plain
HTTPS from the region's JumpStart cache bucket, without AWS credentials and without any HF Hub call:

  GET {bucket}/models_manifest.json            the manifest: [{model_id, version, min_version, spec_key}]
  GET {bucket}/{spec_key}                       the model's spec (JumpStartModelSpecs)
  GET {artifacts}/config.json                   from the prepacked, uncompressed HF-format artifacts
  GET {artifacts}/tokenizer_config.json         (chat template), and chat_template.jinja if there

The format is the one the SageMaker Python SDK reads (aws/sagemaker-python-sdk at a248126, under
sagemaker-core/src/sagemaker/core/jumpstart/; v2 kept the same files in src/sagemaker/jumpstart/):
- constants.py:118 ``JUMPSTART_DEFAULT_MANIFEST_FILE_S3_KEY = "models_manifest.json"``;
  region_config.json: ``content_bucket`` ``jumpstart-cache-prod-<region>``, ``gated_content_bucket``
  ``jumpstart-private-cache-prod-<region>``; constants.py:129-130 the SDK's bucket overrides
  ``AWS_JUMPSTART_CONTENT_BUCKET_OVERRIDE`` / ``AWS_JUMPSTART_GATED_CONTENT_BUCKET_OVERRIDE``
  (honoured here too, read in utils.py:125-200 ``get_jumpstart_(gated_)content_bucket``).
- types.py:179-210 ``JumpStartModelHeader``: ``model_id``, ``version``, ``min_version``, ``spec_key``;
  cache.py:244-263 picks the highest version of the id (``packaging.version``).
- types.py:1329/1369/1398/1405 the spec's ``hosting_artifact_key``, ``hosting_prepacked_artifact_key``,
  ``gated_bucket``, ``hosting_eula_key``; types.py:1934-1937 ``supports_prepacked_inference``;
  artifacts/model_uris.py:164-190 the model URI: ``s3://<gated bucket if gated_bucket else content
  bucket>/<prepacked key if prepacked else hosting_artifact_key>``; types.py:1953-1955
  ``is_gated_model`` (gated bucket or a EULA key). The spec's ``hosting_artifact_s3_data_type``
  (``S3Prefix``) and ``hosting_artifact_compression_type`` (``None``) say the artifacts are files under
  a prefix, not a tarball.
- utils.py:631-637 the bucket's HTTPS address ``https://<bucket>.s3.<region>.amazonaws.com/<key>``.

``JUMPSTART_BUCKET_URL`` (default ``https://{bucket}.s3.{region}.amazonaws.com``) moves every call
elsewhere (tests: a local stand-in of the bucket). Answers are cached under the hub cache's sibling
``.../sagemaker-llm-template/jumpstart/<bucket>/<key>``; ``offline`` works from that cache.

EULA: a model with a ``hosting_eula_key`` (or in the gated bucket) is refused at generation unless
``acceptEula`` is true; the lock then records the acceptance and the deploy tool passes
``ModelAccessConfig.AcceptEula``. The gated bucket is read by SageMaker only (with that acceptance):
its config.json cannot be read from here, so such a model generates from the spec alone when
``instanceType`` and ``maxModelLen`` are given, and is refused with that advice otherwise.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import hub
from .answers import Render, facts_given
from .errors import InvalidAnswer, TemplateError

SOURCES = ("hub", "jumpstart")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,126}$")
MANIFEST_KEY = "models_manifest.json"                  # constants.py:118
BUCKET_OVERRIDE = "AWS_JUMPSTART_CONTENT_BUCKET_OVERRIDE"          # constants.py:129
GATED_BUCKET_OVERRIDE = "AWS_JUMPSTART_GATED_CONTENT_BUCKET_OVERRIDE"   # constants.py:130
URL_ENV = "JUMPSTART_BUCKET_URL"
DEFAULT_URL = "https://{bucket}.s3.{region}.amazonaws.com"           # utils.py:635-637
ARTIFACT_FILES = ("config.json", "tokenizer_config.json", hub.CHAT_TEMPLATE_FILE)
TIMEOUT_S = 5.0
ABSENT = ".absent"


class JumpStartError(TemplateError):
    """A failure reading JumpStart's bucket, or a model this template cannot serve from it."""


class UnknownModel(JumpStartError):
    pass


def selected(answers: dict[str, Any]) -> bool:
    return str(answers.get("modelSource") or "hub").strip() == "jumpstart"


def check_source(value: str) -> None:
    if value not in SOURCES:
        raise InvalidAnswer(f"modelSource '{value}' is not supported. Choose one of: {', '.join(SOURCES)} "
                            "(hub: the HuggingFace Hub; jumpstart: SageMaker JumpStart's own S3 artifacts).")


def check_id(value: str) -> None:
    if not ID_RE.match(value):
        raise InvalidAnswer(f"modelName '{value}' is not a SageMaker JumpStart model id (lower-case letters, digits "
                            "and dashes, e.g. meta-textgeneration-llama-3-1-70b). With modelSource=jumpstart, "
                            "modelName names a JumpStart model; for a HuggingFace repo id use modelSource=hub.")


def buckets(region: str, env: dict[str, str] | None = None) -> tuple[str, str]:
    """(content bucket, gated bucket) of the region (region_config.json), or the SDK's overrides."""
    env = os.environ if env is None else env
    return (env.get(BUCKET_OVERRIDE) or f"jumpstart-cache-prod-{region}",
            env.get(GATED_BUCKET_OVERRIDE) or f"jumpstart-private-cache-prod-{region}")


def url_for(bucket: str, region: str, key: str, env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    base = (env.get(URL_ENV) or DEFAULT_URL).rstrip("/")
    return base.format(bucket=bucket, region=region) + "/" + key.lstrip("/")


def cache_dir(env: dict[str, str] | None = None) -> Path:
    return hub.cache_root(env).parent / "jumpstart"


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.+-]", version))


@dataclass
class Source:
    """What JumpStart says about one model: its spec, its artifacts and what they hold."""

    model_id: str
    version: str
    region: str
    spec_key: str
    spec: dict[str, Any]
    s3_uri: str
    bucket: str
    gated_bucket: bool
    eula_key: str | None
    eula_accepted: bool
    snapshot: hub.Snapshot | None   # config.json and tokenizer files as a hub snapshot (facts.py reads it)

    @property
    def eula_url(self) -> str | None:   # utils.py:631-637 get_formatted_eula_message_template
        if not self.eula_key:
            return None
        content, _ = buckets(self.region)
        return f"https://{content}.s3.{self.region}.amazonaws.com/{self.eula_key}"

    def lock_entry(self) -> dict[str, Any]:
        return {"source": "jumpstart", "s3_uri": self.s3_uri, "s3_data_type": "S3Prefix", "compression": "None",
                "jumpstart": {"model_id": self.model_id, "version": self.version, "spec_key": self.spec_key,
                              "huggingface_id": self.spec.get("huggingface_id"),
                              "gated_bucket": self.gated_bucket, "eula_key": self.eula_key,
                              "eula_required": bool(self.eula_key or self.gated_bucket),
                              "eula_accepted": self.eula_accepted, "license": self.spec.get("license")}}


class Reader:
    """One region's bucket over HTTPS, through the disk cache. ``offline``: the cache alone."""

    def __init__(self, region: str, offline: bool):
        self.region, self.offline = region, offline
        self.content, self.gated = buckets(region)
        self.root = cache_dir()
        self.calls = 0
        self._session = None

    def _cached(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key

    def _get(self, bucket: str, key: str) -> tuple[int, bytes]:
        import requests
        if self._session is None:
            self._session = requests.Session()
        url = url_for(bucket, self.region, key)
        for attempt in range(3):
            self.calls += 1
            try:
                response = self._session.get(url, timeout=TIMEOUT_S,
                                             headers={"User-Agent": "sagemaker-llm-template (copier)"})
            except requests.Timeout:
                raise JumpStartError(f"SageMaker JumpStart's bucket did not answer within {TIMEOUT_S:g} s ({url}). "
                                     "Check your network or proxy (or JUMPSTART_BUCKET_URL), or add -d offline=true to "
                                     "generate from the local cache.") from None
            except requests.RequestException as exc:
                raise JumpStartError(f"Cannot reach SageMaker JumpStart's bucket at {url} ({type(exc).__name__}). "
                                     "Check your network, proxy or JUMPSTART_BUCKET_URL, or add -d offline=true to "
                                     "generate from the local cache.") from None
            if response.status_code in (429, 500, 502, 503, 504) and attempt < 2:
                time.sleep(0.5 * 2 ** attempt)
                continue
            return response.status_code, response.content
        return response.status_code, response.content

    def json(self, bucket: str, key: str, *, fresh: bool = False) -> Any:
        """A JSON file; ``fresh``: asked again online (the manifest), else taken from the cache."""
        text = self.text(bucket, key, fresh=fresh, required=True)
        try:
            return json.loads(text)
        except ValueError:
            raise JumpStartError(f"s3://{bucket}/{key} is not JSON; JumpStart's bucket (or JUMPSTART_BUCKET_URL) "
                                 "answered something else.") from None

    def text(self, bucket: str, key: str, *, fresh: bool = False, required: bool = False) -> str | None:
        path = self._cached(bucket, key)
        if path.is_file() and (self.offline or not fresh):
            return path.read_text(encoding="utf-8")
        if (path.parent / (path.name + ABSENT)).is_file() and not required and (self.offline or not fresh):
            return None
        if self.offline:
            raise JumpStartError(f"Offline, s3://{bucket}/{key} is not in the local cache ({self.root}). Run once "
                                 "with -d offline=false (and a network) to cache it.")
        status, body = self._get(bucket, key)
        if status == 200:
            text = body.decode("utf-8")
            hub._write_atomic(path, text)
            return text
        if status in (403, 404):   # a public bucket answers 403 for a missing key (no anonymous listing)
            if required:
                raise JumpStartError(f"s3://{bucket}/{key} is not readable (HTTP {status}) from "
                                     f"{url_for(bucket, self.region, key)}.")
            try:
                hub._write_atomic(path.parent / (path.name + ABSENT), str(status))
            except OSError:
                pass
            return None
        raise JumpStartError(f"SageMaker JumpStart's bucket answered HTTP {status} for s3://{bucket}/{key}. Try again "
                             "later, or add -d offline=true to generate from the local cache.")


def _pick(manifest: list, model_id: str, version: str) -> dict[str, Any]:
    headers = [h for h in manifest if isinstance(h, dict) and h.get("model_id") == model_id]
    if not headers:
        ids = sorted({str(h.get("model_id")) for h in manifest if isinstance(h, dict)})
        close = difflib.get_close_matches(model_id, ids, n=3, cutoff=0.6)
        raise UnknownModel(f"{model_id} is not a SageMaker JumpStart model (not in the manifest, {len(ids)} models)."
                           + (f" Did you mean {' or '.join(close)}?" if close else "")
                           + " Give a JumpStart model id as modelName (the SageMaker Studio catalog or the SDK's "
                             "list_jumpstart_models() names them), or modelSource=hub for a HuggingFace repo id.")
    if version in ("", "main", "*", "latest"):
        return max(headers, key=lambda h: _version_key(str(h.get("version", "0"))))
    for header in headers:
        if header.get("version") == version:
            return header
    raise InvalidAnswer(f"{model_id} has no JumpStart version {version}; versions: "
                        f"{', '.join(sorted((str(h.get('version')) for h in headers), key=_version_key))}. "
                        "modelRevision names a JumpStart version with modelSource=jumpstart (main: the newest).")


_PROCESS: dict[tuple, Source] = {}


def read(answers: dict[str, Any], offline: bool, render: Render | None = None) -> Source:
    """The model's JumpStart source: manifest, spec and artifact files (cached). Raises TemplateError.
    ``render``: where a warning is said once (generator/answers.py ``Render``)."""
    source = _read(answers, offline)
    if source.snapshot is None:   # gated artifacts, and the facts given instead (the one way to get none)
        (render or Render()).warn(
            ("gated-facts", source.model_id),
            f"warning: {source.model_id}'s artifacts are in JumpStart's gated bucket ({source.bucket}), which only "
            "SageMaker reads (with the EULA accepted); generating without the model's facts, from the "
            "instanceType and maxModelLen given.")
    return source


def _read(answers: dict[str, Any], offline: bool) -> Source:
    model_id = str(answers.get("modelName") or "").strip()
    check_id(model_id)
    region = str(answers.get("awsRegion") or "us-east-1")
    version = str(answers.get("modelRevision") or "main")
    accepted = str(answers.get("acceptEula") or "false").strip().lower() in ("true", "yes", "y", "on", "1")
    key = (model_id, region, version, offline, accepted, os.environ.get(URL_ENV), str(cache_dir()))
    if key in _PROCESS:
        return _PROCESS[key]
    reader = Reader(region, offline)
    if not offline:
        print(f"Reading {model_id} from SageMaker JumpStart ({url_for(reader.content, region, '')}) ...",
              file=sys.stderr)
    manifest = reader.json(reader.content, MANIFEST_KEY, fresh=True)
    if not isinstance(manifest, list):
        raise JumpStartError(f"s3://{reader.content}/{MANIFEST_KEY} is not a JumpStart manifest (a JSON list).")
    header = _pick(manifest, model_id, version)
    spec_key = str(header["spec_key"])
    spec = reader.json(reader.content, spec_key)   # versioned key: immutable, cached for good
    gated = bool(spec.get("gated_bucket", False))
    bucket = reader.gated if gated else reader.content
    prefix = spec.get("hosting_prepacked_artifact_key")
    why = None
    if not prefix:
        why = "it has no prepacked inference artifacts (hosting_prepacked_artifact_key)"
    elif not str(prefix).endswith("/") or spec.get("hosting_artifact_s3_data_type", "S3Prefix") != "S3Prefix" \
            or str(spec.get("hosting_artifact_compression_type", "None")) != "None":
        why = (f"its artifacts are compressed ({prefix}, hosting_artifact_s3_data_type="
               f"{spec.get('hosting_artifact_s3_data_type')}, compression "
               f"{spec.get('hosting_artifact_compression_type')}), not uncompressed files under an S3Prefix")
    if why:
        raise JumpStartError(f"{model_id} cannot be served by this template: {why}; the engines here load a "
                             "HuggingFace-format folder (config.json and safetensors) from /opt/ml/model.")
    eula_key = spec.get("hosting_eula_key")
    source = Source(model_id, str(header.get("version")), region, spec_key, spec, f"s3://{bucket}/{prefix}", bucket,
                    gated, eula_key, accepted, None)
    if (eula_key or gated) and not accepted:
        raise InvalidAnswer(
            f"{model_id} requires accepting its end-user license agreement (EULA)"
            + (f": read {source.eula_url}" if eula_key else "")
            + f" ({spec.get('license') or 'license'}). If you accept it, add -d acceptEula=true: the project then "
              "deploys with ModelAccessConfig.AcceptEula=true. Nothing was written.")
    with ThreadPoolExecutor(max_workers=len(ARTIFACT_FILES)) as pool:
        texts = dict(zip(ARTIFACT_FILES, pool.map(lambda n: reader.text(bucket, f"{prefix}{n}"), ARTIFACT_FILES)))
    if texts["config.json"] is None:
        if gated and facts_given(answers):
            _PROCESS[key] = source   # read() says what this means, once per render
            return source
        if gated:
            raise JumpStartError(
                f"{model_id}'s artifacts are in JumpStart's gated bucket ({bucket}), which SageMaker reads only with "
                f"the EULA accepted; their config.json cannot be read from here, so the model's size is unknown. "
                "Give what the project cannot derive: -d instanceType=<ml.* type, e.g. "
                f"{spec.get('default_inference_instance_type') or 'ml.g5.12xlarge'}> and -d maxModelLen=<tokens> "
                "(and -d chatTemplateFile=<file> for chat).")
        raise JumpStartError(
            f"{model_id} cannot be served by this template: its artifacts ({source.s3_uri}) hold no config.json, so "
            "they are not a HuggingFace-format model (JumpStart packs some models for their own container). "
            "Pick a JumpStart model with HuggingFace artifacts (a huggingface_id in its spec), or modelSource=hub.")
    try:
        config = json.loads(texts["config.json"])
        tok = json.loads(texts["tokenizer_config.json"]) if texts["tokenizer_config.json"] else None
    except ValueError:
        raise JumpStartError(f"{source.s3_uri}config.json or tokenizer_config.json is not JSON.") from None
    info = {"id": spec.get("huggingface_id") or model_id, "gated": False, "pipeline_tag": None,
            "tags": ["jumpstart"], "siblings": []}
    source.snapshot = hub.Snapshot(model_id, source.version, None, info, tok, config,
                                   texts[hub.CHAT_TEMPLATE_FILE], source="jumpstart" if not offline else "cache")
    _PROCESS[key] = source
    return source
