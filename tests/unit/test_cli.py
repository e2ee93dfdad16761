"""The `viper` command: help, version, config check, and exit code 2 with one line on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from viper import __version__
from viper.cli import main


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "viper", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"viper {__version__}"


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "run" in out and "config" in out and "--config" in out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: viper" in capsys.readouterr().out


def test_config_check_prints_the_effective_config_with_secrets_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BITGET_API_SECRET", "very-secret-value")
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "very-secret-value" not in out
    assert '"api_secret": "***"' in out
    assert "config ok" in out


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[server]\nport = 'x'\n", "server.port: expected `int`, got `str`"),
        ("[server]\nprot = 1\n", "server.prot: unknown key"),
        ("[server\nport = 1\n", "invalid TOML"),
        (
            "[modules]\nenabled = ['live']\n",
            "module 'live' requires 'signal', which is not enabled",
        ),
    ],
)
def test_bad_config_exits_2_with_one_line_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, expected: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml)
    assert main(["config", "check", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err
    assert err.count("\n") == 0 and err.startswith("viper: config error:")


def test_missing_explicit_config_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "check", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "no such config file" in capsys.readouterr().err


def test_run_with_bad_config_exits_2_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[risk]\nmax_leverage = 500\n")
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        == "viper: config error: risk.max_leverage: expected `int` <= 125 (from config.toml)"
    )


def test_run_with_bad_environment_names_the_variable(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path, env={"API_SERVER_PORT": "http"})
    assert result.returncode == 2
    assert "server.port" in result.stderr and "API_SERVER_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_port_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--port", "99999"])
    assert info.value.code == 2
    assert "port must be 1..65535" in capsys.readouterr().err


def test_config_defaults_prints_loadable_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "defaults"]) == 0
    path = tmp_path / "c.toml"
    path.write_text(capsys.readouterr().out)
    assert main(["config", "check", "-q", "--config", str(path)]) == 0
