"""Logging: secrets redacted before any sink, JSON lines with module and request id."""

from __future__ import annotations

import json
from pathlib import Path

from loguru import logger

from viper.config import LoggingConfig
from viper.http import request_id_var
from viper.logs import Redactor, setup_logging


def test_redactor_masks_known_secrets_and_credential_pairs() -> None:
    redactor = Redactor(["s3cr3t-value"])
    assert redactor.redact("sent s3cr3t-value to host") == "sent *** to host"
    assert redactor.redact("api_key=abcdef123 ok") == "api_key=*** ok"
    assert redactor.redact('password: "pa55word"') == 'password: "***"'
    assert redactor.redact("Authorization: Bearer tok_123") == "Authorization: ***"
    assert redactor.redact("nothing here") == "nothing here"


def test_secrets_added_later_are_redacted_too() -> None:
    redactor = Redactor()
    redactor.add("rotated-key-999")
    assert "rotated-key-999" not in redactor.redact("now using rotated-key-999")


def test_json_file_has_module_request_id_and_no_secret(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "viper.jsonl"
    redactor = Redactor(["topsecret-123"])
    setup_logging(LoggingConfig(file=str(log_file), console=False), redactor)
    try:
        token = request_id_var.set("req-7")
        logger.bind(module="risk").warning("key topsecret-123 rejected")
        request_id_var.reset(token)
        try:
            raise ValueError("failure with topsecret-123 inside")
        except ValueError:
            logger.bind(module="order").exception("order failed")
        logger.complete()
    finally:
        logger.remove()
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert "topsecret-123" not in log_file.read_text()
    first = lines[0]
    assert first["module"] == "risk" and first["request_id"] == "req-7"
    assert first["level"] == "WARNING" and first["message"] == "key *** rejected"
    assert lines[1]["module"] == "order" and "ValueError" in lines[1]["exception"]
