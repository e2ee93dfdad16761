"""`viper optimize` on real candles: grid and optuna results, the stored row, exit 2 on bad input."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.optimizer_data import BTC, store_real_candles

COMMON = ["--symbols", BTC, "--timeframe", "1h", "--start", "2021-01-01", "--end", "2024-01-01"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    store_real_candles(tmp_path / "candles")
    (tmp_path / "config.toml").write_text(
        f'[store]\ndatabase = "{tmp_path / "viper.db"}"\ncandles_dir = "{tmp_path / "candles"}"\n'
        '[logging]\nfile = ""\nconsole = false\n[risk]\nmax_drawdown = 1.0\ndaily_loss_limit = 1.0\n'
    )
    return tmp_path


def viper(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "viper",
            "optimize",
            "--config",
            str(workdir / "config.toml"),
            *args,
        ],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_grid_over_two_workers_ranks_every_combination(workdir: Path) -> None:
    done = viper(workdir, *COMMON, "--workers", "2", "--json", "--top", "100")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["method"] == "grid" and result["trials"] == 90
    values = [t["value"] for t in result["top"]]
    assert values == sorted(values, reverse=True) and len(values) == result["valid_trials"] > 10
    assert result["best_value"] == values[0]
    assert result["best_params"] == result["top"][0]["params"]
    assert len({t["worker"] for t in result["top"]}) == 2
    assert set(result["importance"]) == {"fast", "slow"}
    with sqlite3.connect(workdir / "viper.db") as db:
        rows = db.execute("SELECT id, method, best_value FROM optimizations").fetchall()
    assert rows == [(result["id"], "grid", result["best_value"])]


def test_optuna_with_a_pruner_runs_distinct_trials(workdir: Path) -> None:
    done = viper(workdir, *COMMON, "--method", "optuna", "--trials", "30", "--seed", "3", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["trials"] == 30
    assert len({json.dumps(t["params"], sort_keys=True) for t in result["top"]}) == len(
        result["top"]
    )
    assert result["importance_method"] in ("fanova", "variance")
    assert result["best_figures"]["total_trades"] >= 10


def test_text_output_is_a_table(workdir: Path) -> None:
    done = viper(workdir, *COMMON, "--space", "fast=5:15:5", "--space", "slow=40:80:20")
    assert done.returncode == 0, done.stderr
    assert "objective sharpe, 9 trials" in done.stdout
    assert "best: {" in done.stdout and "stored as" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--space", "fast=50:5"], "--space fast: inverted range"),
        (["--space", "fast=5:50:0"], "--space fast: step must be > 0"),
        (["--space", "speed=1:5"], "--space speed: sma_cross has no such parameter"),
        (["--objective", "alpha"], "--objective:"),
        (["--method", "annealing"], "--method:"),
        (["--start", "2030-01-01", "--end", "2031-01-01"], "--start: no data after it"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_flag(
    workdir: Path, args: list[str], message: str
) -> None:
    base = [a for a in COMMON if a not in ("--start", "--end", "2021-01-01", "2024-01-01")]
    dates = [] if "--start" in args else ["--start", "2021-01-01", "--end", "2024-01-01"]
    done = viper(workdir, *base, *dates, *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
