"""Real servers of each storage protocol on loopback, for tests and benchmarks.

Each function starts one server in a child process on a free port of 127.0.0.1, waits until
it answers, and yields what a client needs (endpoint, credentials, environment variables);
the process is stopped when the ``with`` block ends. Nothing here is imported by the
repositories.

* ``moto_s3()`` — moto's S3 API server (``moto[server]``);
* ``azurite_blob()`` — Azurite's Blob service (npm ``azurite``; ``AZURITE_BLOB`` names the
  executable, else ``plugins/fsspec/.azurite/node_modules/.bin/azurite-blob``);
* ``gcs_emulator()`` — gcp-storage-emulator, an in-memory server of GCS's JSON API;
* ``ftp_server(root)`` — pyftpdlib with a user and password;
* ``sftp_server(root)`` — an asyncssh SFTP server chrooted to ``root``, with password login
  and a ``known_hosts`` file holding its host key.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from trackline.testing.ports import free_port

AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented, public development key.
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
_PLUGIN_ROOT = Path(__file__).resolve().parents[2]


class ServerUnavailable(RuntimeError):
    """The server's program is not installed here."""


@dataclass
class Server:
    endpoint: str  # http://127.0.0.1:<port> or host:port
    port: int
    env: dict[str, str] = field(default_factory=dict)
    username: str = ""
    password: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _wait_for_port(process: subprocess.Popen, port: int, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {seconds} s")


@contextmanager
def _process(args: list[str], port: int, what: str) -> Iterator[None]:
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            try:
                _wait_for_port(process, port, what)
            except RuntimeError as exc:
                log.seek(0)
                output = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"{exc}:\n{output}") from None
            yield
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


# -- S3 ---------------------------------------------------------------------------------------


@contextmanager
def moto_s3() -> Iterator[Server]:
    port = free_port()
    args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with _process(args, port, "moto"):
        endpoint = f"http://127.0.0.1:{port}"
        yield Server(
            endpoint,
            port,
            env={
                "MLFLOW_S3_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            },
        )


# -- Azure ------------------------------------------------------------------------------------


def azurite_executable() -> str | None:
    candidates = [
        os.environ.get("AZURITE_BLOB"),
        str(_PLUGIN_ROOT / ".azurite" / "node_modules" / ".bin" / "azurite-blob"),
        shutil.which("azurite-blob"),
    ]
    return next((c for c in candidates if c and os.path.exists(c)), None)


@contextmanager
def azurite_blob() -> Iterator[Server]:
    executable = azurite_executable()
    if executable is None:
        raise ServerUnavailable(
            "Azurite is not installed: npm install --prefix plugins/fsspec/.azurite azurite"
        )
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="azurite-") as location:
        args = [
            executable,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            location,
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
        ]
        with _process(args, port, "Azurite"):
            endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
            connection_string = (
                f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
                f"AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
            )
            yield Server(endpoint, port, env={"AZURE_STORAGE_CONNECTION_STRING": connection_string})


# -- Google Cloud Storage ---------------------------------------------------------------------


# The emulator parses request URLs with ``urlparse``, which cuts a path at ``;`` (aiohttp sends
# ``%3B`` as ``;``): objects with a semicolon in their name would be unreachable. ``urlsplit``
# keeps the whole path and has the same attributes.
_GCS_EMULATOR_MAIN = """
import sys, urllib.parse
import gcp_storage_emulator.server
gcp_storage_emulator.server.urlparse = urllib.parse.urlsplit
from gcp_storage_emulator.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


@contextmanager
def gcs_emulator() -> Iterator[Server]:
    try:
        import gcp_storage_emulator  # noqa: F401
    except ImportError:
        raise ServerUnavailable(
            "gcp-storage-emulator is not installed: pip install gcp-storage-emulator"
        ) from None
    port = free_port()
    args = [sys.executable, "-c", _GCS_EMULATOR_MAIN, "start", "--host", "127.0.0.1"]
    with _process([*args, "--port", str(port), "--in-memory"], port, "gcp-storage-emulator"):
        endpoint = f"http://127.0.0.1:{port}"
        yield Server(endpoint, port, env={"STORAGE_EMULATOR_HOST": endpoint})


# -- FTP --------------------------------------------------------------------------------------


@contextmanager
def ftp_server(
    root: str | Path,
    username: str = "tracker",
    password: str = "p@ss w:rd",
    writable: bool = True,
) -> Iterator[Server]:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "pyftpdlib",
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-d",
        str(root),
        *(["-w"] if writable else []),
        "-u",
        username,
        "-P",
        password,
    ]
    with _process(args, port, "pyftpdlib"):
        yield Server(f"127.0.0.1:{port}", port, username=username, password=password)


# -- SFTP -------------------------------------------------------------------------------------

_SFTP_SERVER = r"""
import asyncio, sys
import asyncssh

host_key_path, port, root, username, password = sys.argv[1:6]

class Server(asyncssh.SSHServer):
    def begin_auth(self, user):
        return True
    def password_auth_supported(self):
        return True
    def validate_password(self, user, given):
        return user == username and given == password

async def main():
    await asyncssh.listen(
        "127.0.0.1", int(port), server_host_keys=[host_key_path], server_factory=Server,
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=root.encode()),
        allow_scp=False,
    )
    await asyncio.Event().wait()

asyncio.run(main())
"""


@contextmanager
def sftp_server(
    root: str | Path, username: str = "tracker", password: str = "s3cret:pw"
) -> Iterator[Server]:
    import asyncssh

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sftp-keys-") as keys:
        key = asyncssh.generate_private_key("ssh-ed25519")
        key_path = os.path.join(keys, "host_key")
        key.write_private_key(key_path)
        known_hosts = os.path.join(keys, "known_hosts")
        public = key.export_public_key().decode().strip()
        with open(known_hosts, "w") as f:
            f.write(f"[127.0.0.1]:{port} {public}\n")
        args = [
            sys.executable,
            "-c",
            _SFTP_SERVER,
            key_path,
            str(port),
            str(root),
            username,
            password,
        ]
        with _process(args, port, "asyncssh SFTP server"):
            yield Server(
                f"127.0.0.1:{port}",
                port,
                env={"TRACKLINE_SFTP_KNOWN_HOSTS": known_hosts},
                username=username,
                password=password,
                extra={"known_hosts": known_hosts},
            )


# -- a connection that breaks -----------------------------------------------------------------


@contextmanager
def cutting_proxy(target_port: int, cut_after: int) -> Iterator[int]:
    """A TCP proxy to ``127.0.0.1:target_port`` that drops every connection once it has
    carried ``cut_after`` bytes towards the server: a network failure mid-upload.

    Yields the proxy's port.
    """
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = int(listener.getsockname()[1])
    stop = threading.Event()

    def pipe(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        carried = 0
        try:
            while not stop.is_set():
                data = source.recv(65536)
                if not data:
                    break
                carried += len(data)
                if limit is not None and carried > limit:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", target_port))
            threading.Thread(target=pipe, args=(client, upstream, cut_after), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client, None), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        listener.close()
