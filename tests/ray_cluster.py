"""A real Ray cluster on this machine for tests: a head and a second node (worker) process, every
port on 127.0.0.1, token authentication with a token of its own, in a temporary folder of its
own, stopped by process id.

Loopback only: Ray turns ``--node-ip-address=127.0.0.1`` into the machine's network address for
a multi-node cluster (``ray._private.services.resolve_ip_for_localhost``) and binds its servers
there. The head therefore runs with ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (Ray's single-machine
mode: the node address is 127.0.0.1), and the second node, which that mode refuses to start,
through a two-line wrapper around ``ray start`` that keeps the given 127.0.0.1.

Stopping: ``ray stop`` kills every Ray process of the machine, including other users' and other
test runs' clusters, so :meth:`LocalRayCluster.stop` ends only the processes whose command line
names this cluster's temporary folder, and their children (TERM, then KILL after 15 s).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conftest import free_port

WORKER_WRAPPER = (
    "import sys\n"
    "from ray._private import services\n"
    "services.resolve_ip_for_localhost = lambda host: host  # keep 127.0.0.1\n"
    "from ray.scripts.scripts import main\n"
    "sys.argv = ['ray', *sys.argv[1:]]\n"
    "main()\n"
)


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process this user can read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        found[int(entry.name)] = (ppid, cmdline)
    return found


class LocalRayCluster:
    """``ray start --head`` plus ``ray start --address`` on loopback; see the module docstring."""

    def __init__(self, cpus_per_node: int = 1):
        # short: Ray's Unix sockets live under it (108-byte path limit)
        self.temp_dir = tempfile.mkdtemp(prefix="nr-ray-", dir="/tmp")
        self.port, self.client_port = free_port(), free_port()
        self.cpus = cpus_per_node
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env.pop("PYTHONPATH", None)  # the actors get newsrag from the driver (py_modules)
        # Token authentication with a token of this cluster's own (Ray 2.60 turns token mode on
        # by itself once ~/.ray/auth_token exists, e.g. after any in-process ray.init).
        token = Path(self.temp_dir) / "auth_token"
        token.write_text(secrets.token_hex(32))
        token.chmod(0o600)
        self.auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token),
                     "RAY_USAGE_STATS_ENABLED": "0"}
        env.update(self.auth)
        self.env = env
        self.log = Path(self.temp_dir) / "start.log"

    @property
    def gcs_address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def client_address(self) -> str:
        return f"ray://127.0.0.1:{self.client_port}"

    def driver_env(self) -> dict[str, str]:
        """Environment for a driver on this machine (binds its own Ray ports to loopback)."""
        return {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", **self.auth}

    def _run(self, args: list[str], env: dict[str, str]) -> None:
        with open(self.log, "a") as log:
            done = subprocess.run(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:4])} failed:\n{self.log.read_text()[-3000:]}")

    def start(self) -> "LocalRayCluster":
        ray = str(Path(sys.executable).parent / "ray")
        self._run([ray, "start", "--head", "--node-ip-address=127.0.0.1",
                   f"--port={self.port}", f"--ray-client-server-port={self.client_port}",
                   f"--num-cpus={self.cpus}", "--num-gpus=0", f"--temp-dir={self.temp_dir}",
                   "--include-dashboard=false", "--disable-usage-stats"],
                  {**self.env, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})
        self._run([sys.executable, "-c", WORKER_WRAPPER, "start",
                   f"--address={self.gcs_address}", "--node-ip-address=127.0.0.1",
                   f"--num-cpus={self.cpus}", "--num-gpus=0", "--disable-usage-stats"],
                  {**self.env, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"})
        return self

    def pids(self) -> set[int]:
        """This cluster's processes: those naming its temp folder, and their descendants."""
        procs = _processes()
        mine = {pid for pid, (_, cmd) in procs.items() if self.temp_dir in cmd}
        grew = True
        while grew:
            more = {pid for pid, (ppid, _) in procs.items() if ppid in mine} - mine
            mine |= more
            grew = bool(more)
        mine.discard(os.getpid())
        return mine

    def stop(self) -> None:
        pids = self.pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 15
        while pids and time.monotonic() < deadline:
            pids = {p for p in pids if Path(f"/proc/{p}").exists()
                    and "Z" not in _state(p)}
            time.sleep(0.2)
        for pid in pids | self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
