"""--ops-port and --ops-host of `run` and `dev`: in the help, and a bad port is one line on stderr."""

from __future__ import annotations

import pytest

from bot.cli import main


@pytest.mark.parametrize("command", ["run", "dev"])
def test_the_ops_options_are_in_the_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert "--ops-port OPS_PORT" in out and "--ops-host OPS_HOST" in out and "default 9464" in out


@pytest.mark.parametrize("command", ["run", "dev"])
@pytest.mark.parametrize("port", ["70000", "-1"])
def test_an_ops_port_out_of_range_is_one_line(command: str, port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--ops-port", port]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --ops-port must be between 0 and 65535, got {port}\n"
