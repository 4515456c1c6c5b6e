"""--workers: each worker accepts on its own socket (SO_REUSEPORT), so the kernel spreads new
connections over the workers instead of the first worker to wake taking every pending one."""

from __future__ import annotations

import pickle
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter

import pytest

from bench.procs import server
from mockserver.serving import PortInUseError, ReusePortSocket


def test_the_supervisor_socket_becomes_each_worker_own_socket_on_the_same_port() -> None:
    supervisor = ReusePortSocket.bound("127.0.0.1", 0)
    workers = [pickle.loads(pickle.dumps(supervisor)) for _ in range(2)]  # as uvicorn hands it over
    try:
        address = supervisor.getsockname()
        for worker in workers:
            assert type(worker) is socket.socket
            assert worker.fileno() != supervisor.fileno()
            assert worker.getsockname() == address
            assert worker.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            worker.listen()
        # the supervisor's own socket never listens: the kernel gives it no connections
        assert supervisor.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0
        with socket.create_connection(address, timeout=5):
            pass
    finally:
        for sock in (supervisor, *workers):
            sock.close()


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss to see which process holds a socket")
def test_two_workers_each_accept_a_share_of_new_connections() -> None:
    command = [sys.executable, "-m", "comeback.cli", "serve", "--port", "{port}", "--workers", "2"]
    command += ["--no-auth", "--log-level", "warning", "--api", "privategpt", "--no-watch"]
    with server(command, "/__mock/clock", core=None) as mock:
        port = mock.url.rsplit(":", 1)[1]
        deadline = time.monotonic() + 60
        while len(_holders(["-ltnpH"], port)) < 2:  # both workers listening
            assert time.monotonic() < deadline, "the second worker never listened"
            time.sleep(0.1)
        connections = [socket.create_connection(("127.0.0.1", int(port)), timeout=5) for _ in range(40)]
        try:
            deadline = time.monotonic() + 30
            while sum((held := _holders(["-tnpH", "state", "established"], port)).values()) < 40:
                assert time.monotonic() < deadline, f"not all 40 connections accepted: {held}"
                time.sleep(0.1)
            # hashed over the 4-tuple: both get some (below 5 of 40 has odds of about 1 in 10 million)
            assert len(held) == 2, held
            assert min(held.values()) >= 5, held
        finally:
            for connection in connections:
                connection.close()


def _holders(options: list[str], port: str) -> Counter[str]:
    """pid -> sockets on ``port`` (local side) that ``ss`` lists with these options."""
    listed = subprocess.run(
        ["ss", *options, f"( sport = :{port} )"], check=False, capture_output=True, text=True
    ).stdout
    return Counter(re.findall(r"pid=(\d+)", listed))


def test_a_port_another_worker_group_listens_on_is_refused_not_shared() -> None:
    # SO_REUSEPORT alone would let a second `comeback serve --workers` join the first one's port
    # and silently take half of its connections: the supervisor asks the port first, as uvicorn does
    first = ReusePortSocket.bound("127.0.0.1", 0)
    member = pickle.loads(pickle.dumps(first))
    member.listen()
    try:
        with pytest.raises(PortInUseError, match=r"cannot listen on 127\.0\.0\.1:\d+: "):
            ReusePortSocket.bound("127.0.0.1", first.getsockname()[1])
    finally:
        member.close()
        first.close()


def test_serve_with_workers_on_a_taken_port_exits_2_saying_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "comeback.cli", "serve", "--port", str(port), "--workers", "2"]
        command += ["--no-auth", "--api", "privategpt", "--no-watch"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert f"comeback serve: cannot listen on 127.0.0.1:{port}: " in done.stderr
    assert "nothing started" in done.stderr
    assert "Traceback" not in done.stderr
