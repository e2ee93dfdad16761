"""Storage URLs: which are accepted, how PostgreSQL maps to psycopg 3, and the masked config."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from viper.config import parse_config, to_dict
from viper.errors import ValidationError
from viper.optimizer.storage import StudyLock, check_url, sqlalchemy_url


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@h/db",
        "postgresql+psycopg://u@h/db",
        "redis://127.0.0.1:6379/12",
        "journal:///tmp/s.log",
        "sqlite:///tmp/s.db",
    ],
)
def test_known_storages_are_accepted(url: str) -> None:
    check_url(url)


def test_unknown_storage_names_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        check_url("mongodb://h/db")
    assert caught.value.field == "storage"


def test_postgresql_urls_use_psycopg_3() -> None:
    assert sqlalchemy_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert sqlalchemy_url("sqlite:///x.db") == "sqlite:///x.db"


def test_the_configured_storage_url_is_masked() -> None:
    config = parse_config({"optimizer": {"storage": "postgresql://u:pw@h/db"}}, {}, "test")
    assert config.optimizer.storage.reveal() == "postgresql://u:pw@h/db"
    assert "pw" not in str(to_dict(config)["optimizer"])


def test_a_journal_file_lock_excludes_other_holders(tmp_path: Path) -> None:
    url = f"journal://{tmp_path / 'study.log'}"
    inside: list[int] = []
    overlaps: list[int] = []

    def hold(n: int) -> None:
        with StudyLock(url, "s").held():
            if inside:
                overlaps.append(n)
            inside.append(n)
            time.sleep(0.02)
            inside.remove(n)

    threads = [threading.Thread(target=hold, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []
