"""The tunnels bench/run.py compares, each a client with a SOCKS5 port on
127.0.0.1 and a server it talks to:

    OpenSSH      ssh -N -c CIPHER -D PORT   ->  a private sshd (harness.Sshd)
    alknet       alknet connect -c CIPHER -D PORT  ->  alknet serve (harness.Server)
    Dropbear     ssh -N -c CIPHER -D PORT   ->  dropbear (Debian dropbear-bin)
    shadowsocks  ss-local  ->  ss-server, chacha20-ietf-poly1305 (shadowsocks-libev)
    direct       no tunnel: streams go straight to the echo server

A Site says where the two ends run: Loopback (both here, on 127.0.0.1) or
a namespace pair (bench/lfn.py: server in one namespace, client in the
other, a slow path between).  A tunnel is prepared once (keys, config),
then each round starts its server, starts clients, and stops the server.
Every process belongs to the site's Workdir, which stops whatever is
left when it closes.
"""

import os
import pwd
import secrets
import shutil

import harness
import probes


class Loopback:
    """Both ends here: the server listens on 127.0.0.1."""

    addr = "127.0.0.1"

    def __init__(self, workdir):
        self.workdir = workdir

    def proc(self, side, argv, name):
        return harness.Proc(self.workdir, argv, name=name)

    def wait(self, side, port, proc, timeout=10.0):
        """Waits for a listener of `side` ("server": on .addr; "client": the
        SOCKS port, on 127.0.0.1)."""
        harness.wait_port(port, timeout, proc, host=self.addr if side == "server" else "127.0.0.1")


def stop_tree(proc):
    """Stops a process and everything below it (sshd's per-connection
    children call setsid() and would outlive the listener)."""
    if proc is None:
        return
    for pid in harness.descendants(proc.pid):
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass
    proc.kill()


class Tunnel:
    """One case of the table.  kind: the column; cipher: the row group."""

    kind = "?"
    via = ""  # what runs, for the table's header
    max_streams = None  # streams one connection may carry, if limited

    def __init__(self, cipher):
        self.cipher = cipher
        self.server = None
        self.site = None

    def missing(self):
        """Why this case cannot run here, or None."""
        return None

    def prepare(self, site):
        self.site = site

    def start_server(self):
        pass

    def stop_server(self):
        stop_tree(self.server)
        self.server = None

    def server_pids(self):
        """The server's processes: sshd's and dropbear's per-connection
        children count as the server's."""
        return probes.tree(self.server.pid) if self.server else []

    def start_client(self, socks_port):
        """Starts a client with its SOCKS5 listener on 127.0.0.1:socks_port;
        returns its harness.Proc without waiting for anything."""
        raise NotImplementedError


def _need(*binaries):
    for b in binaries:
        if not (os.path.exists(b) if os.path.isabs(b) else shutil.which(b)):
            return f"{b} is not installed"
    return None


class OpenSSH(Tunnel):
    kind, via = "OpenSSH", "ssh -D → sshd"

    def missing(self):
        return _need("ssh", "ssh-keygen", harness.SSHD)

    def prepare(self, site):
        super().prepare(site)
        self.sshd = harness.Sshd(site.workdir, {"Ciphers": self.cipher,
                                                "ListenAddress": site.addr}, start=False)
        self.key = self.sshd.new_client_key()
        if site.addr != "127.0.0.1":
            with open(self.sshd.known_hosts, "a") as f:
                f.write(self.sshd.known_hosts_line(host=site.addr) + "\n")

    def start_server(self):
        # harness.Sshd.start() without its wait on 127.0.0.1, so that the
        # site may run it in a namespace
        with open(self.sshd.config_path, "w") as f:
            f.write(self.sshd.config_text())
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.server = self.site.proc("server", [harness.SSHD, "-D", "-e", "-f",
                                                self.sshd.config_path], name="sshd")
        self.site.wait("server", self.sshd.port, self.server)

    def start_client(self, socks_port):
        argv = self.sshd.ssh_argv(self.key, "-o", f"HostName={self.site.addr}", "-N",
                                  "-c", self.cipher, "-D", f"127.0.0.1:{socks_port}")
        return self.site.proc("client", argv, name="ssh")


class Alknet(Tunnel):
    kind, via = "alknet", "connect → serve"

    def missing(self):
        return None if os.access(harness.ALKNET, os.X_OK) else f"{harness.ALKNET} not found"

    def prepare(self, site):
        super().prepare(site)
        self.srv = harness.Server(site.workdir, "--allow", "127.0.0.0/8",
                                  "--allow", "198.18.0.0/15", start=False)
        self.key = self.srv.new_client_key()

    def start_server(self):
        argv = self.srv.argv()
        argv[argv.index("-l") + 1] = f"{self.site.addr}:{self.srv.port}"
        self.server = self.site.proc("server", argv, name="serve")
        self.site.wait("server", self.srv.port, self.server)
        self.fingerprint = harness.fingerprint(self.srv.host_key + ".pub")

    def start_client(self, socks_port):
        argv = [harness.ALKNET, "connect", f"{self.srv.user}@{self.site.addr}",
                "-p", self.srv.port, "-i", self.key, "--host-key", self.fingerprint,
                "-c", self.cipher, "-D", f"127.0.0.1:{socks_port}"]
        return self.site.proc("client", argv, name="alknet")


class Dropbear(Tunnel):
    """Dropbear reads only ~USER/.ssh/authorized_keys.  As root, the server
    runs in a private mount namespace where a directory of ours is bind-
    mounted over root's home, so the real one is never read or touched."""

    kind, via = "Dropbear", "ssh -D → dropbear"
    CIPHERS = ("chacha20-poly1305@openssh.com",)  # 2022.83 offers no AES-GCM
    max_streams = 1000  # its MAX_CHANNELS: channel 1001 is refused

    def missing(self):
        if self.cipher not in self.CIPHERS:
            return f"Dropbear does not offer {self.cipher}"
        if os.geteuid() != 0:
            return "needs root (a private authorized_keys through a mount namespace)"
        return _need("dropbear", "dropbearkey", "unshare", "ssh")

    def prepare(self, site):
        super().prepare(site)
        wd = site.workdir
        self.dir = wd.file(wd.unique("dropbear"))
        self.home = os.path.join(self.dir, "home")
        os.makedirs(os.path.join(self.home, ".ssh"), mode=0o700)
        os.chmod(self.dir, 0o700)
        os.chmod(self.home, 0o700)
        self.host_key = os.path.join(self.dir, "host_ed25519")
        harness.run(["dropbearkey", "-t", "ed25519", "-f", self.host_key])
        self.host_pub_line = next(line for line in harness.run(
            ["dropbearkey", "-y", "-f", self.host_key]).splitlines()
            if line.startswith("ssh-"))
        self.key = harness.keygen(wd)
        self.authorized_keys = os.path.join(self.home, ".ssh", "authorized_keys")
        with open(self.key + ".pub") as src, open(self.authorized_keys, "w") as dst:
            dst.write(src.read())
        os.chmod(self.authorized_keys, 0o600)
        self.user = "root"
        self.port = harness.free_port()
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        with open(self.known_hosts, "w") as f:
            f.write(self.known_hosts_line(host=site.addr) + "\n")

    known_hosts_line = harness.Sshd.known_hosts_line
    ssh_argv = harness.Sshd.ssh_argv

    def start_server(self):
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh",
                self.home, pwd.getpwnam(self.user).pw_dir,
                "dropbear", "-F", "-E", "-s", "-m", "-p", f"{self.site.addr}:{self.port}",
                "-r", self.host_key, "-P", os.path.join(self.dir, "pid")]
        self.server = self.site.proc("server", argv, name="dropbear")
        self.site.wait("server", self.port, self.server)

    def start_client(self, socks_port):
        argv = self.ssh_argv(self.key, "-o", f"HostName={self.site.addr}", "-N",
                             "-c", self.cipher, "-D", f"127.0.0.1:{socks_port}")
        return self.site.proc("client", argv, name="ssh-dropbear")


class Shadowsocks(Tunnel):
    kind, via = "shadowsocks", "ss-local → ss-server"
    METHOD = "chacha20-ietf-poly1305"

    def missing(self):
        return _need("ss-local", "ss-server")

    def prepare(self, site):
        super().prepare(site)
        self.password = secrets.token_hex(16)
        self.port = harness.free_port()

    def start_server(self):
        self.server = self.site.proc("server", [
            "ss-server", "-s", self.site.addr, "-p", self.port, "-k", self.password,
            "-m", self.METHOD], name="ss-server")
        self.site.wait("server", self.port, self.server)

    def start_client(self, socks_port):
        return self.site.proc("client", [
            "ss-local", "-s", self.site.addr, "-p", self.port, "-k", self.password,
            "-m", self.METHOD, "-b", "127.0.0.1", "-l", socks_port], name="ss-local")


class Direct(Tunnel):
    """No tunnel: what the machine does without one (no client, no server)."""

    kind, via = "direct", "no tunnel"
