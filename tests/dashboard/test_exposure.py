"""`agora dashboard` serves on loopback unless asked otherwise, without Streamlit's developer toolbar (deploy button),
with options the installed Streamlit knows."""

from streamlit import config
from streamlit.proto.NewSession_pb2 import Config
from typer.testing import CliRunner

from agora.cli import dashboard as dashboard_cli
from agora.cli.main import app


def served(monkeypatch, tmp_path, *args) -> tuple[dict[str, str], str]:
    """The Streamlit options `agora dashboard ARGS` would start the server with (no server is started), and what it
    printed."""
    started = []

    class Server:
        def __init__(self, cmd, **kwargs):
            started.append(cmd)

        def wait(self):
            return 0

    monkeypatch.setattr(dashboard_cli.subprocess, "Popen", Server)
    monkeypatch.setattr(dashboard_cli.signal, "signal", lambda *a: None)  # keep pytest's own signal handlers
    result = CliRunner().invoke(app, ["dashboard", "--store", str(tmp_path / "runs"), *args])
    assert result.exit_code == 0, result.output
    [cmd] = started
    return options(cmd), result.output


def options(cmd: list[str]) -> dict[str, str]:
    flags = cmd[cmd.index("run") + 2:]  # after `streamlit run APP`
    return dict(zip(flags[::2], flags[1::2]))


def test_it_serves_on_loopback_by_default_without_the_deploy_button(monkeypatch, tmp_path):
    given, printed = served(monkeypatch, tmp_path)
    assert given["--server.address"] == "127.0.0.1" and given["--client.toolbarMode"] == "viewer"
    assert "warning" not in printed


def test_host_opens_it_to_another_address_with_a_warning(monkeypatch, tmp_path):
    given, printed = served(monkeypatch, tmp_path, "--host", "0.0.0.0", "--port", "8600")
    assert given["--server.address"] == "0.0.0.0" and given["--server.port"] == "8600"
    assert "anyone who can reach it can read this store" in " ".join(printed.split())


def test_every_option_is_one_the_installed_streamlit_accepts():
    given = options(dashboard_cli.streamlit_command("127.0.0.1", 8501))
    assert {o.removeprefix("--") for o in given} <= set(config.get_config_options())
    assert given["--client.toolbarMode"].upper() in Config.ToolbarMode.keys()
