"""`python -m deploy secret`, in-process against moto's Secrets Manager: the token from stdin or
HF_TOKEN, never from the command line, never in any output or error (a known fake token is
looked for everywhere). Ported from the removed bash-script tests tests/test_deploy.py and
test_deploy_lifecycle.py (secret.sh)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cmdkit  # noqa: E402
from cmdkit import session_on_moto  # noqa: F401  (the aws fixture)
from cmdkit import ACCOUNT, FAKE_TOKEN, run  # noqa: E402


def gated(lock: dict) -> None:
    lock["model"]["gated"] = "manual"
    lock["project"]["hf_token_secret_name"] = f"{lock['project']['name']}/hf-token"


@pytest.fixture
def proj(tmp_path, monkeypatch):
    return cmdkit.project(tmp_path, monkeypatch, gated)


def no_token_in(result) -> None:
    assert FAKE_TOKEN not in result.out + result.err
    assert FAKE_TOKEN[3:] not in result.out + result.err


def test_store_then_update(aws, proj, monkeypatch):
    project, lock = proj
    secret_name = lock["project"]["hf_token_secret_name"]
    result = run(aws, "secret", stdin=FAKE_TOKEN + "\n")
    assert result.code == 0, result.err
    arn = result.out.strip()
    assert arn.startswith(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{secret_name}")
    assert f"==> creating secret {secret_name}" in result.err
    no_token_in(result)
    secrets = aws.client("secretsmanager")
    assert secrets.get_secret_value(SecretId=secret_name)["SecretString"] == FAKE_TOKEN
    described = secrets.describe_secret(SecretId=secret_name)
    assert described["Tags"] == [{"Key": "project", "Value": lock["project"]["name"]}]
    assert FAKE_TOKEN not in str(described)

    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN + "2")
    result = run(aws, "secret")
    assert result.code == 0, result.err
    assert result.out.strip() == arn
    assert f"==> updating secret {secret_name}" in result.err
    no_token_in(result)
    assert secrets.get_secret_value(SecretId=secret_name)["SecretString"] == FAKE_TOKEN + "2"
    # The token reached AWS only as the secret's value.
    for call in aws.calls:
        values = [v for k, v in call["params"].items() if k != "SecretString"]
        assert FAKE_TOKEN not in str(values)


def test_secret_name_and_kms_key(aws, proj):
    key = aws.client("kms").create_key()["KeyMetadata"]["KeyId"]
    result = run(aws, "secret", "--secret-name", "other/name", "--kms-key-id", key, stdin=FAKE_TOKEN)
    assert result.code == 0, result.err
    (create,) = aws.requests("CreateSecret")
    assert create["Name"] == "other/name" and create["KmsKeyId"] == key
    assert "Hugging Face token for" in create["Description"]


@pytest.mark.parametrize("argv", [["--token", FAKE_TOKEN], [f"--token={FAKE_TOKEN}"], ["--hf-token", FAKE_TOKEN]])
def test_refuses_token_on_command_line(proj, argv):
    session = cmdkit.Session(credentials=False)
    result = run(session, "secret", *argv)
    assert result.code == 1
    assert result.err.strip() == ("error: the token is never taken from the command line (it would show in the "
                                  "process list and shell history); set HF_TOKEN or pipe it on stdin")
    no_token_in(result)
    assert session.calls == []


def test_ungated_model_explains(tmp_path, monkeypatch):
    cmdkit.project(tmp_path, monkeypatch)
    session = cmdkit.Session(credentials=False)
    result = run(session, "secret", stdin=FAKE_TOKEN)
    assert result.code == 1
    assert "not gated" in result.one_error()
    no_token_in(result)


def test_no_token(aws, proj):
    result = run(aws, "secret", stdin="\n")
    assert result.code == 1
    assert result.one_error() == "error: no token: set HF_TOKEN or pass the token on standard input"


def test_a_token_without_the_prefix_is_stored_with_a_warning(aws, proj):
    result = run(aws, "secret", stdin="abc123")
    assert result.code == 0, result.err
    assert "warning: the token does not start with 'hf_'; storing it anyway" in result.err
    assert "abc123" not in result.out + result.err


def test_no_credentials_does_not_echo_the_token(proj, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    result = run(cmdkit.Session(credentials=False), "secret")
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: no usable AWS credentials"), result.err
    no_token_in(result)


def test_an_aws_error_never_carries_the_token(proj, monkeypatch):
    """Even an (imagined) AWS message that repeated the value is cut before it is printed."""
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    with mock_aws():
        session = cmdkit.Session()
        stub = session.stub("secretsmanager")
        stub.add_client_error("describe_secret", service_error_code="ResourceNotFoundException",
                              service_message="Secrets Manager can't find the specified secret.")
        stub.add_client_error("create_secret", service_error_code="AccessDeniedException",
                              service_message=f"not allowed to store {FAKE_TOKEN}")
        result = run(session, "secret")
        session.check()
    assert result.code == 1
    assert "AccessDeniedException" in result.one_error()
    no_token_in(result)


def test_help_needs_no_aws(proj):
    session = cmdkit.Session(credentials=False)
    result = run(session, "secret", "--help")
    assert result.code == 0 and "--secret-name" in result.out and "--token" not in result.out
    assert session.calls == []
