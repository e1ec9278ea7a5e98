"""The stack controller fails with a message that names the service, its log and the cause."""
from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("stackctl", ROOT / "stack" / "stackctl.py")
stackctl = importlib.util.module_from_spec(spec)
sys.modules["stackctl"] = stackctl  # dataclasses look their module up there
spec.loader.exec_module(stackctl)


@pytest.fixture
def isolated_dirs(tmp_path, monkeypatch):
    monkeypatch.setattr(stackctl, "LOG_DIR", tmp_path / "log")
    monkeypatch.setattr(stackctl, "RUN_DIR", tmp_path / "run")
    monkeypatch.setattr(stackctl, "VAR", tmp_path)
    (tmp_path / "log").mkdir()
    (tmp_path / "run").mkdir()
    return tmp_path


def _service(command, ports=(), ready=lambda: "not yet", timeout=20.0):
    return stackctl.Service("fake", "Fake service", list(ports), lambda: command, ready, "fake-main-class",
                            timeout=timeout)


def test_port_in_use_names_service_port_and_log(isolated_dirs):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        service = _service(["true"], ports=[port])
        with pytest.raises(stackctl.StackError) as error:
            stackctl.start_service(service)
    message = str(error.value)
    assert "Fake service" in message and f"port {port} is already in use" in message
    assert str(isolated_dirs / "log" / "fake.log") in message


def test_not_enough_disk_is_reported(isolated_dirs, monkeypatch):
    monkeypatch.setattr(stackctl, "MIN_FREE_BYTES", 1 << 60)
    with pytest.raises(stackctl.StackError, match=r"Fake service: only \d+ MB free .* at least"):
        stackctl.start_service(_service(["true"]))


def test_service_dying_at_start_reports_exit_code_cause_and_log_tail(isolated_dirs):
    command = ["bash", "-c", "echo 'java.net.BindException: Address already in use' >&2; exit 7"]
    with pytest.raises(stackctl.StackError) as error:
        stackctl.start_service(_service(command))
    message = str(error.value)
    assert "Fake service exited with code 7" in message
    assert "a port it needs is already in use" in message
    assert "BindException" in message and str(isolated_dirs / "log" / "fake.log") in message
    assert not (isolated_dirs / "run" / "fake.pid").exists()


def test_service_never_ready_times_out_with_last_check(isolated_dirs):
    service = _service(["sleep", "30"], ready=lambda: "still warming up", timeout=1.5)
    with pytest.raises(stackctl.StackError, match="did not become ready within 2s .*still warming up"):
        stackctl.start_service(service)
    stackctl.stop_service(service)


def test_launcher_refuses_a_java_that_is_not_17(tmp_path):
    fake_jdk = tmp_path / "jdk25"
    (fake_jdk / "bin").mkdir(parents=True)
    java = fake_jdk / "bin" / "java"
    java.write_text('#!/bin/sh\necho \'openjdk version "25" 2025-09-16\' >&2\n')
    java.chmod(0o755)
    env = dict(os.environ, DATALAKE_JAVA_HOME=str(fake_jdk))
    result = subprocess.run([str(ROOT / "stack" / "bin" / "hadoop"), "version"], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 3
    assert f"DATALAKE_JAVA_HOME={fake_jdk} is not a Java 17" in result.stderr
    assert "no Java 17 found" in result.stderr
