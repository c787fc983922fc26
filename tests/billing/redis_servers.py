"""Redis servers the tests start, stop, stall and kill themselves: single servers and a
three-master Redis Cluster, each on free ports of 127.0.0.1, in a directory of their own, and
always stopped by their own process ids."""

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")


def available() -> bool:
    return REDIS_SERVER is not None and REDIS_CLI is not None


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(*, cluster: bool = False) -> int:
    """A port nothing listens on; for a cluster node, its bus port (10,000 above) too."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not cluster or (port + 10_000 <= 65_535 and _bindable(port + 10_000)):
            return port


class RedisServer:
    """One redis-server process. `persist`: append-only file on, as production should run;
    else no persistence at all, so a restart starts empty."""

    def __init__(
        self, *, persist: bool = False, cluster: bool = False, options: tuple[str, ...] = ()
    ) -> None:
        self.persist = persist
        self.cluster = cluster
        self.options = options
        self.directory = Path(tempfile.mkdtemp(prefix="console-test-redis-"))
        self.port = free_port(cluster=cluster)
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        command = [
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "yes" if self.persist else "no",
            "--appendfsync",
            "always",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            *self.options,
        ]
        if self.cluster:
            command += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.directory
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 10.0) -> None:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    if client.ping():
                        return
                except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {self.port} did not start")
                time.sleep(0.02)
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-traffic."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stall(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def restart(self, *, keep_data: bool = True) -> None:
        """Kill it and start it again on the same port: with its data (what its append-only
        file kept) or without."""
        self.kill()
        if not keep_data:
            for path in self.directory.iterdir():
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.name != "nodes.conf":
                    path.unlink()
        self.start()

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


class RedisClusterServers:
    """Three masters, no replicas, every slot assigned."""

    def __init__(self, *, persist: bool = False) -> None:
        self.nodes = [RedisServer(cluster=True, persist=persist) for _ in range(3)]
        try:
            assert REDIS_CLI is not None
            subprocess.run(
                [
                    REDIS_CLI,
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{node.port}" for node in self.nodes),
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60,
            )
            self._wait_ok()
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def _wait_ok(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = []
            for node in self.nodes:
                client = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=1)
                try:
                    states.append(client.cluster("info").get("cluster_state"))
                finally:
                    client.close()
            if all(state == "ok" for state in states):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the test cluster did not become ready: {states}")
            time.sleep(0.1)

    def close(self) -> None:
        for node in self.nodes:
            node.close()
