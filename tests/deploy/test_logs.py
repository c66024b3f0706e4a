"""`python -m deploy logs`, in-process against moto's CloudWatch Logs. Ported from the removed bash-script tests
tests/test_deploy_lifecycle.py (logs.sh)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cmdkit  # noqa: E402
from cmdkit import session_on_moto  # noqa: F401  (the aws fixture)
from cmdkit import run  # noqa: E402


@pytest.fixture
def proj(tmp_path, monkeypatch):
    return cmdkit.project(tmp_path, monkeypatch)


def put_events(aws, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    logs = aws.client("logs")
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": t, "message": m} for t, m in sorted(events)])


def test_prints_the_endpoint_log_group_oldest_first(aws, proj):
    name = proj[1]["project"]["name"]
    now = int(time.time() * 1000)
    group = f"/aws/sagemaker/Endpoints/{name}"
    put_events(aws, group, "AllTraffic/i-1", [(now - 500, "INFO: Uvicorn running on 0.0.0.0:8080")])
    put_events(aws, group, "AllTraffic/i-0", [(now - 1000, "INFO: model loaded"),
                                              (now - 3 * 3600 * 1000, "too old")])
    result = run(aws, "logs", "--since", "5")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("INFO: model loaded") and lines[1].endswith("Uvicorn running on 0.0.0.0:8080")
    assert lines[0][:4].isdigit()  # a local timestamp first
    (request,) = aws.requests("FilterLogEvents")
    assert request["logGroupName"] == group
    assert now - 6 * 60 * 1000 < request["startTime"] < now - 4 * 60 * 1000


def test_inference_component_group_and_other_endpoint(aws, proj):
    now = int(time.time() * 1000)
    put_events(aws, "/aws/sagemaker/InferenceComponents/my-ic", "s", [(now, "component line")])
    result = run(aws, "logs", "--inference-component-name", "my-ic")
    assert result.code == 0, result.err
    assert result.out.strip().endswith("component line")
    put_events(aws, "/aws/sagemaker/Endpoints/other", "s", [(now, "other line")])
    result = run(aws, "logs", "--endpoint-name", "other")
    assert result.out.strip().endswith("other line")


def test_missing_group_is_one_message(aws, proj):
    name = proj[1]["project"]["name"]
    result = run(aws, "logs")
    assert result.code == 1
    assert result.one_error() == (f"error: log group /aws/sagemaker/Endpoints/{name} does not exist (yet); has the "
                                  "endpoint started?")


@pytest.mark.parametrize("args, message", [(["--since", "soon"], "--since: wants a whole number, got 'soon'"),
                                           (["--interval", "-1"], "--interval: wants a whole number")])
def test_option_mistakes_before_aws(proj, args, message):
    session = cmdkit.Session(credentials=False)
    result = run(session, "logs", *args)
    assert result.code != 0 and message in result.err
    assert session.calls == []


def test_no_credentials_is_one_clear_error(proj):
    result = run(cmdkit.Session(credentials=False), "logs")
    assert result.code == 1
    assert result.one_error().startswith("error: no usable AWS credentials")


def test_follow_prints_each_event_once(proj, monkeypatch):
    """--follow polls (the sleep between polls is where the test adds events and stops it)."""
    from deploy.__main__ import main

    name = proj[1]["project"]["name"]
    group = f"/aws/sagemaker/Endpoints/{name}"
    with mock_aws():
        session = cmdkit.Session()
        now = int(time.time() * 1000)
        polls = []

        def sleep(_seconds):
            polls.append(1)
            if len(polls) == 1:  # the group did not exist at the first look
                put_events(session, group, "s", [(now, "first")])
            elif len(polls) == 2:
                session.client("logs").put_log_events(logGroupName=group, logStreamName="s",
                                                      logEvents=[{"timestamp": now + 1, "message": "second"}])
            else:
                raise KeyboardInterrupt

        import contextlib
        import io

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["logs", "--follow", "--interval", "1"], session=session, sleep=sleep)
        session.check()
    assert code == 130  # Ctrl-C
    assert f"(waiting for log group {group})" in err.getvalue()
    assert [line.split(" ", 2)[2] for line in out.getvalue().splitlines()] == ["first", "second"]


def test_inference_component_flag_without_a_name_reads_the_only_component(aws, proj):
    name = proj[1]["project"]["name"]
    now = int(time.time() * 1000)
    put_events(aws, "/aws/sagemaker/InferenceComponents/the-one", "s", [(now, "component line")])
    cmdkit.list_components_answer(aws.stub("sagemaker"), name, ["the-one"])
    result = run(aws, "logs", "--inference-component")
    assert result.code == 0, result.err
    assert result.out.strip().endswith("component line")
    aws.stubbers["sagemaker"].assert_no_pending_responses()
