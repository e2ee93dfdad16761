"""The child side of a job process: errors as `Failed` messages, framed messages on stdout."""

from __future__ import annotations

import subprocess
import sys

import msgspec
import pytest

from viper.child_process import HEADER, Failed, encode, failure, frame
from viper.errors import ValidationError


def test_a_viper_error_keeps_its_code_and_field() -> None:
    assert failure(ValidationError("fast: too big", field="fast")) == Failed(
        code="validation_error", detail="fast: too big", field="fast"
    )


def test_an_unexpected_error_is_internal_with_its_traceback_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        raise KeyError("boom")
    except KeyError as exc:
        failed = failure(exc)
    assert (failed.code, failed.detail, failed.field) == ("internal", "KeyError: 'boom'", None)
    assert "Traceback" in capsys.readouterr().err


def test_serve_answers_on_the_original_stdout_and_keeps_prints_off_it() -> None:
    code = (
        "from viper.child_process import serve\n"
        "def run(payload, send):\n"
        "    print('stray output')\n"
        "    send({'progress': payload['n']})\n"
        "    return {'done': payload['n'] * 2}\n"
        "serve(dict, run)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=encode({"n": 21}), capture_output=True, check=True
    )
    out, messages = done.stdout, []
    while out:
        (size,) = HEADER.unpack(out[: HEADER.size])
        messages.append(msgspec.msgpack.decode(out[HEADER.size : HEADER.size + size]))
        out = out[HEADER.size + size :]
    assert messages == [{"progress": 21}, {"done": 42}]
    assert b"stray output" in done.stderr
    assert frame({"a": 1})[: HEADER.size] == HEADER.pack(len(encode({"a": 1})))
