"""Fixtures for alknet's end-to-end tests: real peers on loopback.

A test function receives `t` (class T below) and starts what it needs:

    def test_something(t):
        sshd = t.sshd(Ciphers="aes128-gcm@openssh.com")
        key = sshd.new_client_key()
        blast = t.blast()
        socks = harness.free_port()
        ssh = t.proc(sshd.ssh_argv(key, "-N", "-D", f"127.0.0.1:{socks}"))
        harness.wait_port(socks, proc=ssh)
        ok, line = t.blast_client("127.0.0.1", blast.port, "E", "1M", socks=socks)
        t.check(ok, line)

Everything a fixture starts belongs to a Workdir (one temporary directory per
test) and is stopped when the Workdir closes; tests/run.py closes it after
each test, removes it on success and keeps it (and prints its path) on
failure.  Processes write stdout/stderr to NAME.stdout / NAME.stderr in the
Workdir.  Standard library only; Linux (reads /proc).

Binaries: ALKNET (default ./alknet), BLAST (default build/blast, built from
tests/blast.c when missing or stale), UNIT (default build/unit): environment
variables, relative to the current directory; defaults relative to the
repository top.
"""

import base64
import http.server
import os
import pwd
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _binary(var, default):
    value = os.environ.get(var)
    return os.path.abspath(value) if value else os.path.join(ROOT, default)


ALKNET = _binary("ALKNET", "alknet")
BLAST = _binary("BLAST", "build/blast")
UNIT = _binary("UNIT", "build/unit")
# alknet under ASan or valgrind: memory and CPU figures are the tool's, not ours
INSTRUMENTED = "asan" in ALKNET or "valgrind" in ALKNET
SSHD = "/usr/sbin/sshd"


class Skip(Exception):
    """Raise to skip a test: raise Skip("why")."""


class Fail(AssertionError):
    """A test failure with a message meant for people."""


def check(cond, message):
    """Fails the test with `message` unless `cond` is true."""
    if not cond:
        raise Fail(message)


def timeout(seconds):
    """Decorator: per-test time limit for tests/run.py (default 120 s)."""
    def mark(fn):
        fn.timeout = seconds
        return fn
    return mark


# ---------------------------------------------------------------- reduced runs

SMALL = bool(os.environ.get("ALK_SMALL"))  # make check-valgrind: same paths, less data


def size(text):
    """A transfer size like "64M": as given, or in reduced runs (ALK_SMALL)
    a 32nd of it, at least 64 KiB."""
    units = {"k": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    n = int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)
    return max(n // 32, 64 << 10) if SMALL else n


def count(n):
    """A number of streams: as given, or a tenth (at least 10) in reduced runs."""
    return max(n // 10, 10) if SMALL else n


# ---------------------------------------------------------------- ports

def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, proc=None, host="127.0.0.1"):
    """Waits until something accepts connections on host:port.
    With `proc`, fails at once if that process exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            pass
        if proc is not None and not proc.alive():
            raise Fail(f"{proc.name} exited with status {proc.returncode} before "
                       f"listening on {host}:{port}:\n{proc.stderr_tail()}")
        if time.monotonic() > deadline:
            raise Fail(f"nothing listening on {host}:{port} after {timeout}s")
        time.sleep(0.05)


# ---------------------------------------------------------------- workdir

class Workdir:
    """A temporary directory that owns everything started for one test.
    close() stops it all (last started first), then removes the directory
    unless keep is true."""

    def __init__(self, name="test", path=None):
        self.path = path or tempfile.mkdtemp(prefix=f"alknet-{name}-")
        self.procs = []
        self._cleanups = []

    def file(self, *parts):
        return os.path.join(self.path, *parts)

    def write(self, name, data, mode=0o644):
        path = self.file(name)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        os.chmod(path, mode)
        return path

    def unique(self, base, suffix=""):
        """base, base-2, base-3, ...: the first for which no file
        base-N+suffix exists yet (names for repeated fixtures)."""
        name, n = base, 1
        while os.path.exists(self.file(name + suffix)):
            n += 1
            name = f"{base}-{n}"
        return name

    def on_close(self, fn):
        self._cleanups.append(fn)

    def stop_all(self):
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except Exception as e:  # cleanup goes on whatever one step does
                print(f"cleanup: {e!r}")

    def close(self, keep=False):
        self.stop_all()
        if keep:
            print(f"kept {self.path}")
        else:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(keep=exc_type is not None)


# ---------------------------------------------------------------- processes

def _tail(path, lines=20):
    try:
        with open(path, "rb") as f:
            text = f.read()[-16384:].decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class Proc:
    """A process whose stdout and stderr go to files in the workdir.
    env: variables added to (value None: removed from) the environment.
    stdin / stdout: subprocess.PIPE to talk to it through .stdin / .stdout
    (stdin defaults to /dev/null; with stdout piped, stdout_text() has nothing)."""

    def __init__(self, workdir, argv, env=None, name=None, stdin=None, stdout=None, cwd=None):
        self.argv = [str(a) for a in argv]
        self.name = workdir.unique(name or os.path.basename(self.argv[0]), ".argv")
        self.stdout_path = workdir.file(self.name + ".stdout")
        self.stderr_path = workdir.file(self.name + ".stderr")
        full_env = dict(os.environ)
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = str(value)
        with open(workdir.file(self.name + ".argv"), "w") as f:
            f.write(" ".join(self.argv) + "\n")
        self._out = open(self.stdout_path, "wb") if stdout is None else None
        self._err = open(self.stderr_path, "wb")
        try:
            self.p = subprocess.Popen(
                self.argv, env=full_env, cwd=cwd or workdir.path,
                stdin=subprocess.DEVNULL if stdin is None else stdin,
                stdout=self._out if stdout is None else stdout, stderr=self._err)
        except OSError:
            self._close_files()
            raise
        self.pid = self.p.pid
        self.stdin, self.stdout = self.p.stdin, self.p.stdout
        workdir.procs.append(self)
        workdir.on_close(self.kill)

    @property
    def returncode(self):
        return self.p.poll()

    def alive(self):
        return self.p.poll() is None

    def wait(self, timeout=30.0):
        """Waits for exit and returns the status; fails the test on timeout."""
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail(f"{self.name} still running after {timeout}s:\n{self.stderr_tail()}") from None

    def signal(self, sig):
        if self.alive():
            self.p.send_signal(sig)

    def kill(self, grace=3.0):
        """SIGTERM, then SIGKILL after `grace` seconds."""
        if self.alive():
            self.p.terminate()
            try:
                self.p.wait(grace)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self._close_files()

    def _close_files(self):
        for f in (self._out, self._err, self.p.stdin if hasattr(self, "p") else None):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass

    def stdout_text(self):
        if not os.path.exists(self.stdout_path):
            return ""
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr_tail(self, lines=20):
        return _tail(self.stderr_path, lines)

    def wait_for(self, text, timeout=10.0, stream="stderr"):
        """Waits until `text` appears in the process's stderr (or stdout);
        returns the whole text so far."""
        path = self.stderr_path if stream == "stderr" else self.stdout_path
        deadline = time.monotonic() + timeout
        while True:
            with open(path, "rb") as f:
                got = f.read().decode("utf-8", "replace")
            if text in got:
                return got
            if not self.alive():
                raise Fail(f"{self.name} exited ({self.returncode}) without printing "
                           f"{text!r}:\n{self.stderr_tail()}")
            if time.monotonic() > deadline:
                raise Fail(f"{self.name} did not print {text!r} within {timeout}s:\n"
                           f"{self.stderr_tail()}")
            time.sleep(0.05)

    def cpu_ticks(self):
        """utime + stime in clock ticks (os.sysconf('SC_CLK_TCK') per second)."""
        return cpu_ticks(self.pid)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


def rss_kib(pid):
    """Resident memory of a process, KiB (VmRSS of proc(5)); -1 if none."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def run(argv, timeout=30, check_status=True):
    """Runs a short command to completion; returns its stdout as text."""
    r = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout)
    if check_status and r.returncode != 0:
        raise Fail(f"{' '.join(map(str, argv))} exited {r.returncode}: "
                   f"{r.stderr.decode('utf-8', 'replace').strip()}")
    return r.stdout.decode("utf-8", "replace")


def keygen(workdir, name="id_ed25519", comment=None):
    """A new ed25519 key pair without passphrase (ssh-keygen, 0600).
    Returns the private key's path; the public key is PATH.pub."""
    path = workdir.file(workdir.unique(name))
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment or name, "-f", path])
    return path


def fingerprint(pub_path):
    """SHA256:... of a public key file, as ssh-keygen -lf prints it."""
    return run(["ssh-keygen", "-lf", pub_path]).split()[1]


# ---------------------------------------------------------------- sshd

class Sshd:
    """A private OpenSSH sshd on 127.0.0.1:<free port>, with its own host key,
    authorized_keys and config (never the system's).  `options` are
    sshd_config keywords (case-insensitive) that replace the defaults; a list
    value repeats the keyword, None removes it.  As root it logs in root, else
    the running user."""

    def __init__(self, workdir, options=None, start=True):
        self.workdir = workdir
        self.dir = workdir.file(workdir.unique("sshd"))
        os.makedirs(self.dir)
        self.port = free_port()
        self.user = pwd.getpwuid(os.geteuid()).pw_name
        self.host_key = os.path.join(self.dir, "ssh_host_ed25519_key")
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alknet-test-sshd",
             "-f", self.host_key])
        with open(self.host_key + ".pub") as f:
            self.host_pub_line = f.read().strip()
        self.host_fingerprint = fingerprint(self.host_key + ".pub")
        self.authorized_keys = os.path.join(self.dir, "authorized_keys")
        open(self.authorized_keys, "w").close()
        os.chmod(self.authorized_keys, 0o600)
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        with open(self.known_hosts, "w") as f:
            f.write(self.known_hosts_line() + "\n")
        self.config_path = os.path.join(self.dir, "sshd_config")
        self.options = dict(options or {})
        self.proc = None
        if start:
            self.start()

    def config_text(self):
        defaults = {
            "Port": self.port,
            "ListenAddress": "127.0.0.1",
            "HostKey": self.host_key,
            "AuthorizedKeysFile": self.authorized_keys,
            "PidFile": "none",
            "UsePAM": "no",
            "StrictModes": "no",
            "PasswordAuthentication": "no",
            "KbdInteractiveAuthentication": "no",
            "PubkeyAuthentication": "yes",
            "PermitRootLogin": "prohibit-password",
            "AllowTcpForwarding": "yes",
            "PermitOpen": "any",
            "UseDNS": "no",
            "PrintMotd": "no",
            "X11Forwarding": "no",
            "MaxStartups": "100:30:200",
            "LogLevel": "INFO",
        }
        merged = {k.lower(): (k, v) for k, v in defaults.items()}
        for k, v in self.options.items():
            merged[k.lower()] = (k, v)
        lines = []
        for key, value in merged.values():
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                if v is not None:
                    lines.append(f"{key} {v}")
        return "\n".join(lines) + "\n"

    def start(self):
        with open(self.config_path, "w") as f:
            f.write(self.config_text())
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
        self.proc = Proc(self.workdir, [SSHD, "-D", "-e", "-f", self.config_path],
                         name=os.path.basename(self.dir))
        self.workdir.on_close(self._kill_sessions)
        wait_port(self.port, proc=self.proc)

    def _kill_sessions(self):
        """Per-connection sshd children call setsid() and outlive the
        listener: stop them first."""
        if self.proc and self.proc.alive():
            for pid in children(self.proc.pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    def stop(self):
        self._kill_sessions()
        if self.proc:
            self.proc.kill()

    def add_authorized_key(self, pub, options=None):
        """pub: a public key line or the path of a .pub file."""
        if os.path.exists(pub):
            with open(pub) as f:
                pub = f.read()
        line = pub.strip()
        if options:
            line = f"{options} {line}"
        with open(self.authorized_keys, "a") as f:
            f.write(line + "\n")

    def new_client_key(self, name="id_ed25519", options=None):
        """A new client key pair, authorized here (with authorized_keys
        `options`, if any); returns its private key's path."""
        path = keygen(self.workdir, name)
        self.add_authorized_key(path + ".pub", options)
        return path

    def known_hosts_line(self, host="127.0.0.1", port=None):
        """The known_hosts line for this host key at [host]:port (this port)."""
        keytype, blob = self.host_pub_line.split()[:2]
        return f"[{host}]:{port or self.port} {keytype} {blob}"

    def ssh_argv(self, key, *extra):
        """OpenSSH client argv that trusts only this sshd and uses only `key`."""
        return ["ssh", "-F", "/dev/null",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "UpdateHostKeys=no",
                "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=ERROR",
                "-i", key, "-p", str(self.port), f"{self.user}@127.0.0.1", *extra]


def children(pid):
    """Direct children of pid (from /proc)."""
    return [p for p, pp in _ppids().items() if pp == pid]


def descendants(pid):
    """All descendants of pid, found through /proc."""
    parents = _ppids()
    found, todo = [], [pid]
    while todo:
        cur = todo.pop()
        for p, pp in parents.items():
            if pp == cur and p not in found:
                found.append(p)
                todo.append(p)
    return found


def _ppids():
    result = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    result[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return result


# ---------------------------------------------------------------- blast

def ensure_blast():
    """Builds build/blast from tests/blast.c when it is missing or older.
    (Skipped when $BLAST names a binary.)"""
    if os.environ.get("BLAST"):
        return BLAST
    src = os.path.join(ROOT, "tests", "blast.c")
    if os.path.exists(BLAST) and os.path.getmtime(BLAST) >= os.path.getmtime(src):
        return BLAST
    os.makedirs(os.path.dirname(BLAST), exist_ok=True)
    tmp = f"{BLAST}.tmp{os.getpid()}"
    run(["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-o", tmp, src], timeout=120)
    os.replace(tmp, BLAST)
    return BLAST


class Blast:
    """A `blast server` on 127.0.0.1 (or `listen`); .port is where it listens."""

    def __init__(self, workdir, listen="127.0.0.1:0"):
        self.workdir = workdir
        self.proc = Proc(workdir, [ensure_blast(), "server", "--listen", listen],
                         name="blast-server")
        deadline = time.monotonic() + 10
        while True:
            first = self.proc.stdout_text().split("\n", 1)
            if len(first) == 2 and first[0].startswith("port "):
                self.port = int(first[0].split()[1])
                return
            if not self.proc.alive() or time.monotonic() > deadline:
                raise Fail(f"blast server did not start:\n{self.proc.stderr_tail()}")
            time.sleep(0.02)

    def client(self, mode, nbytes, **kw):
        """blast_client to this server (directly, or through kw socks=...)."""
        return blast_client(self.workdir, "127.0.0.1", self.port, mode, nbytes, **kw)


def blast_client(workdir, host, port, mode, nbytes, streams=1, seed=None, socks=None,
                 socks_user=None, socks_name=None, pipeline=False, halfclose=False,
                 ramp=None, timeout=60):
    """Runs `blast client`; returns (ok, summary line).
    socks: a port on 127.0.0.1 or "ADDR:PORT"; nbytes: int or "64M"-style.
    ramp: at most this many streams connecting at once (use ~100 for
    thousands of streams through a proxy with a small accept backlog)."""
    argv = [ensure_blast(), "client", host, port, mode, nbytes, "--streams", streams,
            "--timeout", timeout]
    if seed is not None:
        argv += ["--seed", seed]
    if socks is not None:
        argv += ["--socks", socks if isinstance(socks, str) else f"127.0.0.1:{socks}"]
    if socks_user is not None:
        argv += ["--socks-user", socks_user]
    if socks_name is not None:
        argv += ["--socks-name", socks_name]
    if pipeline:
        argv.append("--pipeline")
    if halfclose:
        argv.append("--halfclose")
    if ramp is not None:
        argv += ["--ramp", ramp]
    proc = Proc(workdir, argv, name="blast-client")
    status = proc.wait(timeout + 15)
    lines = proc.stdout_text().strip().splitlines()
    summary = lines[-1] if lines else f"FAIL no output, status {status}: {proc.stderr_tail(3)}"
    return status == 0 and summary.startswith("ok "), summary


# ---------------------------------------------------------------- http

def localhost_first():
    """The address "localhost" resolves to first here: 127.0.0.1, or ::1
    where /etc/hosts lists it first.  For peers (microsocks) that try only
    the first address of a name."""
    return socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM)[0][4][0]


def listen_spec(addr, port=0):
    """"ADDR:PORT" for a listener, IPv6 in brackets."""
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


class HttpServer:
    """A threaded HTTP/1.0 server on 127.0.0.1:<free port> (or `host`) that
    serves `files` ({"/path": bytes}) and 404 for anything else; HTTPS with
    tls=(certfile, keyfile)."""

    def __init__(self, workdir, files, tls=None, host="127.0.0.1"):
        self.files = dict(files)
        log_path = workdir.file(workdir.unique("http", ".log") + ".log")
        open(log_path, "w").close()
        served = self.files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = served.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, fmt, *args):
                with open(log_path, "a") as f:
                    f.write("%s %s\n" % (self.client_address[0], fmt % args))

        class Server(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

            def handle_error(self, request, client_address):
                pass  # a client that went away mid-request (tests do that on purpose)

        self.server = Server((host, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.log_path = log_path
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        workdir.on_close(self.stop)

    def url(self, path, host="127.0.0.1", port=None):
        return f"{self.scheme}://{host}:{port or self.port}{path}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- raw socks

def socks_request(host, port, atyp=3):
    """A SOCKS5 greeting (no authentication) and a CONNECT to host:port,
    by name (atyp 3) or as an IPv4 address (atyp 1), as one write."""
    if atyp == 3:
        addr = bytes([3, len(host)]) + host.encode()
    else:
        addr = bytes([1]) + socket.inet_aton(host)
    return b"\x05\x01\x00\x05\x01\x00" + addr + struct.pack(">H", port)


def socks_reply(s):
    """Reads the 12-byte answer to socks_request (the method choice, then a
    reply with an IPv4 bound address): (reply code or -1, the bytes), fewer
    bytes when the server closed first."""
    got = b""
    while len(got) < 12:
        part = s.recv(12 - len(got))
        if not part:
            break
        got += part
    return (got[3] if len(got) >= 4 else -1), got


def socks_connect(port, host, dport, atyp=3, timeout=30):
    """A SOCKS5 CONNECT through 127.0.0.1:port: (reply code, the socket)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(socks_request(host, dport, atyp))
    return socks_reply(s)[0], s


def socks_raw(port, data, read_until_close=True, timeout=5.0, host="127.0.0.1", shut=False,
              want=1):
    """Sends raw bytes to a SOCKS port and returns (reply bytes, closed).
    data: bytes, or a list of byte strings sent 50 ms apart (split requests).
    read_until_close: read until the server closes or `timeout` passes;
    otherwise return once `want` bytes have arrived and 0.2 s passed without
    more (want=12 waits for the method reply and a whole SOCKS5 reply, which
    a slow server under valgrind sends a round trip apart).
    shut: shut down our write side after sending (EOF after the data).
    closed is True when the server closed or reset the connection."""
    chunks = data if isinstance(data, (list, tuple)) else [data]
    got, closed = b"", False
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as s:
        try:
            for i, chunk in enumerate(chunks):
                if i:
                    time.sleep(0.05)
                s.sendall(chunk)
            if shut:
                s.shutdown(socket.SHUT_WR)  # a request cut short, then EOF
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed early; read what it sent
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left if read_until_close or len(got) < want else min(left, 0.2))
            try:
                part = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not part:
                closed = True
                break
            got += part
    return got, closed


# ---------------------------------------------------------------- alknet

class Client:
    """`alknet connect` to an Sshd as its user, with the sshd's known_hosts
    and `key`; with socks=True a SOCKS5h listener on a free port (.socks),
    waited for unless wait=False.  Extra arguments follow."""

    def __init__(self, workdir, sshd, key, *args, socks=True, wait=True, name="alknet",
                 env=None, port=None):
        self.socks = free_port() if socks else None
        argv = [ALKNET, "connect", f"{sshd.user}@127.0.0.1", "-p", port or sshd.port,
                "-i", key, "--known-hosts", sshd.known_hosts]
        if socks:
            argv += ["-D", f"127.0.0.1:{self.socks}"]
        argv += list(args)
        self.proc = Proc(workdir, argv, name=name, env=env)
        if socks and wait:
            wait_port(self.socks, proc=self.proc)


class Server:
    """`alknet serve` on 127.0.0.1:<free port> with its own host key and
    authorized_keys, shaped like Sshd (.port, .user, .known_hosts,
    .host_fingerprint, .ssh_argv(), .new_client_key()) so that tests can
    point alknet connect or stock ssh at either.  `args` are extra serve
    options; `ak_options` prefix the keys added by new_client_key."""

    def __init__(self, workdir, *args, keys=(), start=True, env=None, tls=False):
        self.workdir = workdir
        self.dir = workdir.file(workdir.unique("server"))
        os.makedirs(self.dir)
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.user = "alknet"
        self.host_key = os.path.join(self.dir, "host_ed25519")
        self.authorized_keys = os.path.join(self.dir, "authorized_keys")
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        self.args = [str(a) for a in args]
        self.env = env
        with open(self.authorized_keys, "w") as f:
            for k in keys:
                f.write(k.strip() + "\n")
        self.proc = None
        if start:
            self.start()

    def argv(self):
        tls = ["--tls-listen", f"127.0.0.1:{self.tls_port}"] if self.tls_port else []
        return [ALKNET, "serve", "-l", f"127.0.0.1:{self.port}", *tls, "-k", self.host_key,
                "-a", self.authorized_keys, *self.args]

    def start(self, wait=True):
        proc = Proc(self.workdir, self.argv(), name=os.path.basename(self.dir), env=self.env)
        if not wait:
            self.proc = proc
            return proc
        return self.adopt(proc)

    def adopt(self, proc):
        """Makes proc, an alknet serve started some other way (under a
        wrapper, in a namespace) with this server's ports and files, this
        server's process: waits for its ports, then reads its host key and
        writes known_hosts as start() does."""
        self.proc = proc
        wait_port(self.port, proc=self.proc)
        if self.tls_port:
            wait_port(self.tls_port, proc=self.proc)
        with open(self.host_key + ".pub") as f:
            self.host_pub_line = f.read().strip()
        self.host_fingerprint = fingerprint(self.host_key + ".pub")
        with open(self.known_hosts, "w") as f:
            f.write(self.known_hosts_line() + "\n")
            if self.tls_port:  # the host key also stands for the TLS port
                f.write(self.known_hosts_line(port=self.tls_port) + "\n")
        return self.proc

    def stop(self):
        if self.proc:
            self.proc.kill()

    add_authorized_key = Sshd.add_authorized_key
    new_client_key = Sshd.new_client_key
    known_hosts_line = Sshd.known_hosts_line
    ssh_argv = Sshd.ssh_argv

    def log(self):
        return self.proc.stderr_text()

    def rss_kib(self):
        """Resident memory of the server process, KiB (VmRSS)."""
        return rss_kib(self.proc.pid)


# ---------------------------------------------------------------- certificates, proxies

def openssl_cert(workdir, name="web", kind="ec", cn="localhost"):
    """A self-signed certificate made by `openssl req` (kind "ec": P-256,
    "rsa": RSA 2048) for cn, with it as subjectAltName: (cert, key) paths."""
    cert, key = workdir.file(name + ".crt"), workdir.file(name + ".key")
    newkey = ["-newkey", "rsa:2048"] if kind == "rsa" else \
        ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", cert,
         "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}", "-days", "30"])
    return cert, key


def spki_pin(cert):
    """SHA256:<base64> of a certificate's SubjectPublicKeyInfo, as openssl
    computes it (what alknet connect --tls-pin takes)."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         check=True, capture_output=True).stdout
    dig = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der,
                         check=True, capture_output=True).stdout
    return "SHA256:" + base64.b64encode(dig).decode()


class Microsocks:
    """Debian's microsocks SOCKS5 server on 127.0.0.1:<free port>; it logs
    each connection it makes ("client[N] IP: connected to HOST:PORT") to
    its stderr (.log()). One thread per client copies with blocking writes,
    so it cannot carry a stream that is full both ways at once (echo)."""

    def __init__(self, workdir, user=None, password=None):
        if not shutil.which("microsocks"):
            raise Skip("microsocks is not installed (scripts/deps.sh installs it)")
        self.port = free_port()
        argv = ["microsocks", "-i", "127.0.0.1", "-p", str(self.port)]
        if user:
            argv += ["-u", user, "-P", password]
        self.proc = Proc(workdir, argv, name=workdir.unique("microsocks"))
        wait_port(self.port, proc=self.proc)

    def log(self):
        return self.proc.stderr_text()


class Tinyproxy:
    """Debian's tinyproxy (HTTP CONNECT) on 127.0.0.1:<free port>, in the
    foreground, logging connections to its own file (.log())."""

    def __init__(self, workdir):
        binary = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
        if not os.path.exists(binary):
            raise Skip("tinyproxy is not installed (scripts/deps.sh installs it)")
        self.port = free_port()
        name = workdir.unique("tinyproxy")
        self.log_path = workdir.file(name + ".log")
        conf = workdir.file(name + ".conf")
        with open(conf, "w") as f:
            f.write(f"Port {self.port}\nListen 127.0.0.1\nTimeout 60\nMaxClients 64\n"
                    f"LogFile \"{self.log_path}\"\nLogLevel Info\nAllow 127.0.0.1\n")
        self.proc = Proc(workdir, [binary, "-d", "-c", conf], name=name)
        wait_port(self.port, proc=self.proc)

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""


# What a sanitizer or valgrind (tests/valgrind-alknet) prints on a finding:
# in the stderr of any process a test started, it fails the test.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "VALGRIND-ERROR-BEGIN")


def sanitizer_line(text):
    """The first line of text that reports a sanitizer finding, or None."""
    for line in text.splitlines():
        if any(mark in line for mark in SANITIZER_MARKS):
            return line.strip()
    return None


def alknet(argv, timeout=30, env=None, stdin=None):
    """Runs alknet ARGV to completion: (status, stdout, stderr) as text.
    A sanitizer finding in its stderr fails the test at once."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    r = subprocess.run([ALKNET] + [str(a) for a in argv], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, input=stdin, timeout=timeout, env=full_env)
    err = r.stderr.decode("utf-8", "replace")
    finding = sanitizer_line(err)
    if finding:
        raise Fail(f"sanitizer report from alknet {' '.join(map(str, argv))}: {finding}\n"
                   + "\n".join(err.splitlines()[-30:]))
    return r.returncode, r.stdout.decode("utf-8", "replace"), err


# ---------------------------------------------------------------- test context

class T:
    """What a test function gets: its workdir and shortcuts to the fixtures."""

    def __init__(self, workdir, name="test"):
        self.workdir = workdir
        self.name = name

    def path(self, *parts):
        return self.workdir.file(*parts)

    def proc(self, argv, **kw):
        return Proc(self.workdir, argv, **kw)

    def sshd(self, **options):
        return Sshd(self.workdir, options)

    def blast(self, listen="127.0.0.1:0"):
        return Blast(self.workdir, listen)

    def blast_client(self, host, port, mode, nbytes, **kw):
        return blast_client(self.workdir, host, port, mode, nbytes, **kw)

    def http(self, files, tls=None, host="127.0.0.1"):
        return HttpServer(self.workdir, files, tls, host)

    def keygen(self, name="id_ed25519", comment=None):
        return keygen(self.workdir, name, comment)

    def alknet(self, sshd, key, *args, **kw):
        return Client(self.workdir, sshd, key, *args, **kw)

    def server(self, *args, **kw):
        """alknet serve (see Server); add keys with .new_client_key() before
        start, or pass keys=[pub lines] and start at once."""
        return Server(self.workdir, *args, **kw)

    def server_with_key(self, *args, key_options=None, **kw):
        """alknet serve (see Server) with one new client key authorized
        (with authorized_keys `key_options`), started: (server, key path)."""
        srv = Server(self.workdir, *args, start=False, **kw)
        key = srv.new_client_key(options=key_options)
        srv.start()
        return srv, key

    check = staticmethod(check)
