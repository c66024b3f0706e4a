"""generator/token.py: resolution order, $VAR references, the token file, redaction."""

import re

import pytest
from copier import run_copy
from copier.errors import UserMessageError

from generator.errors import InvalidAnswer
from generator.token import redact, resolve_token, token_file, unset_reference
from hubsim import FAKE_TOKEN, GRANTED_TOKEN


def test_literal_answer_wins_over_environment():
    env = {"HF_TOKEN": GRANTED_TOKEN}
    assert resolve_token(FAKE_TOKEN, env) == FAKE_TOKEN


@pytest.mark.parametrize("ref", ["$MY_TOKEN", "${MY_TOKEN}"])
def test_variable_reference(ref):
    assert resolve_token(ref, {"MY_TOKEN": FAKE_TOKEN, "HF_TOKEN": GRANTED_TOKEN}) == FAKE_TOKEN


def test_mcc_style_hf_token_reference_reads_hf_token():
    assert resolve_token("$HF_TOKEN", {"HF_TOKEN": FAKE_TOKEN}) == FAKE_TOKEN


def test_unset_variable_reference_is_no_token_and_the_order_goes_on(tmp_path):
    # a public model needs no token: `"hfToken": "$HF_TOKEN"` (MCC's style) with HF_TOKEN unset is no error
    assert resolve_token("$MY_TOKEN", {"HF_HOME": str(tmp_path)}) is None
    assert resolve_token("${MY_TOKEN}", {"MY_TOKEN": " ", "HUGGING_FACE_HUB_TOKEN": FAKE_TOKEN}) == FAKE_TOKEN
    assert unset_reference("$MY_TOKEN", {}) == "MY_TOKEN" and unset_reference("${MY_TOKEN}", {}) == "MY_TOKEN"
    assert unset_reference("$MY_TOKEN", {"MY_TOKEN": FAKE_TOKEN}) is None and unset_reference(FAKE_TOKEN, {}) is None


def test_public_model_with_an_unset_token_variable_generates_with_one_note(template_dir, tmp_path, fake_hub, capsys):
    run_copy(str(template_dir), str(tmp_path / "p"), data={"hfToken": "$HF_TOKEN"}, defaults=True, unsafe=True,
             quiet=True)
    assert (tmp_path / "p" / "model.lock.json").is_file()
    err = capsys.readouterr().err
    assert err.count("note: hfToken refers to $HF_TOKEN, which is not set; reading the hub without a token") == 1


def test_gated_model_with_an_unset_token_variable_names_the_variable(template_dir, tmp_path, fake_hub):
    with pytest.raises(UserMessageError) as caught:
        run_copy(str(template_dir), str(tmp_path / "p"),
                 data={"hfToken": "$MY_HF", "modelName": "meta-llama/Llama-3.1-8B-Instruct"},
                 defaults=True, unsafe=True, quiet=True)
    assert re.search(r"is a gated model and no HuggingFace token was found.*hfToken refers to \$MY_HF, which is "
                     r"not set\.", str(caught.value), re.S), str(caught.value)
    assert not (tmp_path / "p").exists()


def test_malformed_reference_is_rejected():
    with pytest.raises(InvalidAnswer, match=r"\$NAME or \$\{NAME\}"):
        resolve_token("$not valid", {})


def test_order_hf_token_then_legacy_then_file(tmp_path):
    token_path = tmp_path / "hf" / "token"
    token_path.parent.mkdir()
    token_path.write_text(GRANTED_TOKEN + "\n")
    env = {"HF_HOME": str(tmp_path / "hf"), "HF_TOKEN": FAKE_TOKEN, "HUGGING_FACE_HUB_TOKEN": "hf_legacyTokenValue1"}
    assert resolve_token("", env) == FAKE_TOKEN
    del env["HF_TOKEN"]
    assert resolve_token("", env) == "hf_legacyTokenValue1"
    del env["HUGGING_FACE_HUB_TOKEN"]
    assert resolve_token("", env) == GRANTED_TOKEN
    token_path.unlink()
    assert resolve_token("", env) is None


def test_token_file_location(tmp_path):
    assert token_file({"HF_TOKEN_PATH": str(tmp_path / "t")}) == tmp_path / "t"
    assert token_file({"HF_HOME": str(tmp_path)}) == tmp_path / "token"
    assert token_file({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "huggingface" / "token"


def test_redact_removes_known_and_token_shaped_strings():
    resolve_token(GRANTED_TOKEN, {})
    text = f"failed with {GRANTED_TOKEN} and {FAKE_TOKEN} and hf_abcdefghijklmnop"
    out = redact(text)
    assert GRANTED_TOKEN not in out and FAKE_TOKEN not in out and "hf_abcdefghijklmnop" not in out
    assert out.count("***") == 3


@pytest.mark.parametrize("bad", ["hf_Abcdefgh12345678\u2019", "hf_two words", "hf_line\nbreak"])
def test_tokens_that_cannot_be_sent_are_refused_plainly(bad):
    with pytest.raises(InvalidAnswer, match="Copy it again"):
        resolve_token(bad, {})
