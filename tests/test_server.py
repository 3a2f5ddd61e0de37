"""alknet serve (issue 3): stock OpenSSH clients and alknet connect against
it, the destination policy, authorized_keys options, the resolver (with a
DNS responder of our own), limits against abuse, signals and logs."""

import os
import signal
import socket
import subprocess
import sys
import time

import harness
from harness import ALKNET, check

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsd  # noqa: E402  (tests/dnsd.py: a DNS responder for the tests)

CIPHERS = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
BIG = harness.size(os.environ.get("ALK_BIG", "256M"))
LOOPBACK = ("--allow", "127.0.0.0/8")


def server(t, *args, key_options=None):
    """alknet serve with one client key; returns (server, key)."""
    return t.server_with_key(*args, key_options=key_options)


def ssh_socks(t, srv, key, *extra):
    """Stock `ssh -N -D` against srv; returns the SOCKS port."""
    port = harness.free_port()
    ssh = t.proc(srv.ssh_argv(key, *extra, "-N", "-D", f"127.0.0.1:{port}"), name="ssh")
    harness.wait_port(port, proc=ssh)
    return port


socks_connect = harness.socks_connect


# ------------------------------------------------------------------ stock OpenSSH client


def test_ssh_dynamic_with_curl_and_shell_refused(t):
    """ssh -N -D against alknet serve, curl by name through it; ssh asking
    for a shell gets the refusal text and exits, no hang."""
    srv, key = server(t, *LOOPBACK)
    socks = ssh_socks(t, srv, key)
    page = os.urandom(200000)
    http = t.http({"/p": page})
    out = t.path("p")
    harness.run(["curl", "-sS", "-f", "--max-time", "20", "--socks5-hostname",
                 f"127.0.0.1:{socks}", "-o", out, http.url("/p", host="localhost")])
    with open(out, "rb") as f:
        check(f.read() == page, "page differs")
    argv = srv.ssh_argv(key, "echo", "hi")
    argv[argv.index("LogLevel=ERROR")] = "LogLevel=INFO"  # ssh prints the refusal at INFO
    r = subprocess.run(argv, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20)
    err = r.stderr.decode()
    check(r.returncode == 255 and "no shells" in err and "ssh -N" in err, f"{r.returncode} {err}")


def test_ssh_stdio_and_local_forward(t):
    """ssh -W as ProxyCommand through alknet serve to a real sshd; ssh -L."""
    srv, key = server(t, *LOOPBACK)
    sshd = t.sshd()
    skey = sshd.new_client_key()
    proxy = " ".join(srv.ssh_argv(key, "-W", "%h:%p"))
    argv = sshd.ssh_argv(skey, "echo", "via-alknet-serve")
    argv[1:1] = ["-o", f"ProxyCommand={proxy}"]
    check(harness.run(argv, timeout=30).strip() == "via-alknet-serve", "ssh -W failed")
    blast = t.blast()
    lport = harness.free_port()
    ssh = t.proc(srv.ssh_argv(key, "-N", "-L", f"127.0.0.1:{lport}:localhost:{blast.port}"),
                 name="ssh-L")
    harness.wait_port(lport, proc=ssh)
    ok, line = t.blast_client("127.0.0.1", lport, "E", harness.size("16M"), streams=4)
    check(ok, line)


def _ssh_bulk(t, cipher):
    srv, key = server(t, *LOOPBACK)
    socks = ssh_socks(t, srv, key, "-c", cipher)
    blast = t.blast()
    ok, line = blast.client("E", BIG, socks=socks, socks_name="localhost", timeout=240)
    check(ok, f"ssh -c {cipher}: {line}")


@harness.timeout(300)
def test_ssh_bulk_chacha20_poly1305(t):
    """256 MiB each way through ssh -D -> alknet serve, every byte checked."""
    _ssh_bulk(t, CIPHERS[0])


@harness.timeout(300)
def test_ssh_bulk_aes128_gcm(t):
    _ssh_bulk(t, CIPHERS[1])


@harness.timeout(300)
def test_ssh_bulk_aes256_gcm(t):
    _ssh_bulk(t, CIPHERS[2])


@harness.timeout(240)
def test_ssh_rekey_limit(t):
    """ssh -o RekeyLimit=1M: the client rekeys dozens of times while 64 MiB
    flow each way; alknet serve answers every one."""
    srv, key = server(t, *LOOPBACK, "-vv")
    socks = ssh_socks(t, srv, key, "-o", "RekeyLimit=1M")
    ok, line = t.blast().client("E", harness.size("64M"), socks=socks, timeout=180)
    check(ok, line)
    n = srv.log().count("rekey done")
    check(n >= (2 if harness.SMALL else 20), f"expected many rekeys, saw {n}")


# ------------------------------------------------------------------ alknet on both ends


def _alk_bulk(t, cipher):
    srv, key = server(t, *LOOPBACK, "-c", cipher)
    client = t.alknet(srv, key)
    ok, line = t.blast().client("E", BIG, socks=client.socks, socks_name="localhost",
                                timeout=240)
    check(ok, f"{cipher}: {line}")
    check(cipher in client.proc.stderr_text(), "cipher not negotiated as forced")


@harness.timeout(300)
def test_alknet_bulk_chacha20_poly1305(t):
    _alk_bulk(t, CIPHERS[0])


@harness.timeout(300)
def test_alknet_bulk_aes128_gcm(t):
    _alk_bulk(t, CIPHERS[1])


@harness.timeout(300)
def test_alknet_bulk_aes256_gcm(t):
    _alk_bulk(t, CIPHERS[2])


@harness.timeout(240)
def test_alknet_1000_streams(t):
    """1,000 concurrent streams through one tunnel, each checked."""
    srv, key = server(t, *LOOPBACK)
    client = t.alknet(srv, key)
    blast = t.blast()
    start = time.monotonic()
    ok, line = blast.client("E", "64k", streams=harness.count(1000), socks=client.socks, timeout=180)
    took = time.monotonic() - start
    check(ok, line)
    print(f"{harness.count(1000)} streams of 64 KiB echoed in {took:.2f} s; server RSS {srv.rss_kib()} KiB")


def test_alknet_echo(t):
    """The reserved alknet-echo sends back what it gets (half-close included);
    other alknet-* names are refused and never reach DNS."""
    srv, key = server(t)
    client = t.alknet(srv, key)
    code, s = socks_connect(client.socks, "alknet-echo", 7)
    check(code == 0, f"reply {code}")
    data = os.urandom(300000)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        part = s.recv(65536)
        if not part:
            break
        got += part
    check(got == data, f"echo returned {len(got)} of {len(data)} bytes")
    code, _ = socks_connect(client.socks, "alknet-nothing", 7)
    check(code == 4, f"unknown reserved name: reply {code}")
    check("alknet-nothing is a reserved name" in srv.log(), srv.log())


def test_alknet_edge_sizes_and_halfclose(t):
    srv, key = server(t, *LOOPBACK)
    client = t.alknet(srv, key)
    blast = t.blast()
    for n in [0, 1, 2, 32767, 32768, 32769, 200000]:
        for mode in "EUD":
            ok, line = blast.client(mode, n, socks=client.socks)
            check(ok, f"{mode} {n}: {line}")
    ok, line = blast.client("E", harness.size("4M"), streams=10, socks=client.socks, halfclose=True)
    check(ok, line)


# ------------------------------------------------------------------ policy


def test_policy_default_denies_loopback(t):
    """Loopback is refused by default: SOCKS reply 2 and curl's ruleset
    error; --allow 127.0.0.0/8 opens it. A name that resolves to a denied
    address is refused too."""
    srv, key = server(t)
    client = t.alknet(srv, key)
    http = t.http({"/x": b"inside\n"})
    r = subprocess.run(["curl", "-sS", "--max-time", "10", "--socks5-hostname",
                        f"127.0.0.1:{client.socks}", http.url("/x")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = r.stderr.decode()
    check(r.returncode == 97 and "(2)" in err, f"curl {r.returncode}: {err}")
    code, _ = socks_connect(client.socks, "localhost", http.port)
    check(code == 2, f"a name resolving to loopback: reply {code}")
    check("denied by default" in srv.log(), srv.log())
    srv2, key2 = server(t, *LOOPBACK)
    client2 = t.alknet(srv2, key2)
    got = harness.run(["curl", "-sS", "--max-time", "10", "--socks5-hostname",
                       f"127.0.0.1:{client2.socks}", http.url("/x", host="localhost")])
    check(got == "inside\n", got)


def test_policy_rules_order_and_ports(t):
    """First matching rule decides; port ranges; --deny before --allow."""
    denied, allowed = t.blast(), t.blast()
    srv, key = server(t, "--deny", f"127.0.0.1:{denied.port}", "--allow", "127.0.0.0/8:1-65535")
    client = t.alknet(srv, key)
    code, _ = socks_connect(client.socks, "127.0.0.1", denied.port, atyp=1)
    check(code == 2, f"denied port: reply {code}")
    ok, line = allowed.client("E", "64k", socks=client.socks, socks_name="localhost")
    check(ok, f"another port on loopback is allowed by the second rule: {line}")
    check(f"--deny 127.0.0.1:{denied.port}" in srv.log() or "deny" in srv.log(), srv.log())


def test_permitopen(t):
    """permitopen= limits a key to the listed destinations."""
    blast = t.blast()
    srv, key = server(t, *LOOPBACK, key_options=f'permitopen="localhost:{blast.port}"')
    client = t.alknet(srv, key)
    ok, line = blast.client("E", "1M", socks=client.socks, socks_name="localhost")
    check(ok, line)
    code, _ = socks_connect(client.socks, "127.0.0.1", blast.port, atyp=1)
    check(code == 2, f"not in permitopen: reply {code}")
    check("permitopen" in srv.log(), srv.log())


def test_from_and_no_port_forwarding(t):
    """from= refuses a key from elsewhere (exit 6); no-port-forwarding logs in
    but opens nothing (reply 2)."""
    srv = t.server(*LOOPBACK, start=False)
    far = srv.new_client_key("far", options='from="192.0.2.0/24"')
    near = srv.new_client_key("near", options='from="127.0.0.0/8,!10.*"')
    nofwd = srv.new_client_key("nofwd", options="no-port-forwarding")
    srv.start()
    base = ["connect", f"{srv.user}@127.0.0.1", "-p", srv.port, "--known-hosts", srv.known_hosts,
            "--check"]
    status, _, err = harness.alknet(base + ["-i", far])
    check(status == 6, f"from= must refuse: {status} {err}")
    check("from= does not admit" in srv.log(), srv.log())
    status, _, err = harness.alknet(base + ["-i", near])
    check(status == 0, f"from= must admit 127.0.0.1: {status} {err}")
    client = t.alknet(srv, nofwd)
    code, _ = socks_connect(client.socks, "alknet-echo", 7)
    check(code == 2, f"no-port-forwarding: reply {code}")


# ------------------------------------------------------------------ resolution


def test_slow_dns_does_not_stall_other_streams(t):
    """Our DNS responder answers one name only after 4 s: a stream to another
    name opened meanwhile completes at once; a name that does not exist gives
    SOCKS reply 4 promptly."""
    port, stop = dnsd.start("slow.test DELAY 4\nslow.test A 127.0.0.1\n"
                            "fast.test A 127.0.0.1\n")
    t.workdir.on_close(stop)
    srv, key = server(t, *LOOPBACK, "--dns", f"127.0.0.1:{port}")
    client = t.alknet(srv, key)
    blast = t.blast()
    slow = t.proc([harness.ensure_blast(), "client", "127.0.0.1", blast.port, "E", "1k",
                   "--socks", f"127.0.0.1:{client.socks}", "--socks-name", "slow.test",
                   "--timeout", "30"], name="slow")
    time.sleep(0.3)
    start = time.monotonic()
    ok, line = blast.client("E", "1M", socks=client.socks, socks_name="fast.test")
    fast = time.monotonic() - start
    check(ok, line)
    check(slow.alive(), "the slow stream should still be resolving")
    start = time.monotonic()
    code, _ = socks_connect(client.socks, "nosuch.test", blast.port)
    missing = time.monotonic() - start
    check(code == 4, f"nonexistent name: reply {code}")
    check(slow.wait(30) == 0, "slow stream failed: " + slow.stdout_text())
    check(fast < 2 and missing < 2, f"fast took {fast:.2f} s, missing name {missing:.2f} s")
    print(f"fast name {fast * 1000:.0f} ms and missing name {missing * 1000:.0f} ms while a 4 s "
          "lookup was pending")


# ------------------------------------------------------------------ abuse, limits


@harness.timeout(120)
def test_flood_of_idle_and_garbage_connections(t):
    """50 connections that send nothing or garbage do not delay a real
    client's login; they are closed at --login-grace; memory stays bounded."""
    srv, key = server(t, "--login-grace", "2", "--max-startups", "20")
    rss0 = srv.rss_kib()
    junk = []
    for i in range(50):
        s = socket.create_connection(("127.0.0.1", srv.port))
        if i % 2:
            s.sendall(os.urandom(200) + b"\r\n")
        junk.append(s)
    time.sleep(0.3)
    rss_flood = srv.rss_kib()
    start = time.monotonic()
    status, out, err = harness.alknet(["connect", f"{srv.user}@127.0.0.1", "-p", srv.port, "-i",
                                       key, "--known-hosts", srv.known_hosts, "--check"])
    login = time.monotonic() - start
    check(status == 0, f"real client refused during the flood: {status} {err}")
    time.sleep(2.8)
    closed = 0
    for s in junk:
        s.settimeout(0.5)
        try:
            closed += s.recv(100) == b""
        except (ConnectionResetError, socket.timeout):
            closed += 1
        s.close()
    check(closed == 50, f"only {closed} of 50 junk connections were closed")
    rss_after = srv.rss_kib()
    print(f"login during a 50-connection flood: {login * 1000:.0f} ms; server RSS {rss0} KiB "
          f"before, {rss_flood} KiB during, {rss_after} KiB after")
    check(rss_flood - rss0 < 8192, f"RSS grew by {rss_flood - rss0} KiB for 50 idle connections")


def test_max_channels(t):
    srv, key = server(t, "--max-channels", "3")
    client = t.alknet(srv, key)
    held = []
    for _ in range(3):
        code, s = socks_connect(client.socks, "alknet-echo", 7)
        check(code == 0, f"reply {code}")
        held.append(s)
    code, _ = socks_connect(client.socks, "alknet-echo", 7)
    check(code == 1, f"4th stream: reply {code}")
    check("--max-channels 3" in srv.log(), srv.log())


def test_refuses_to_start_without_keys(t):
    srv = t.server(start=False)
    p = srv.start(wait=False)
    check(p.wait(10) == 3, "exit 3 expected")
    check("no usable ssh-ed25519 key" in p.stderr_text(), p.stderr_text())


def test_host_key_created_once(t):
    srv, key = server(t)
    check(oct(os.stat(srv.host_key).st_mode & 0o777) == "0o600", "host key must be 0600")
    fp = srv.host_fingerprint
    check(f"host key {fp}" in srv.log(), srv.log())
    srv.stop()
    srv.start()
    check(harness.fingerprint(srv.host_key + ".pub") == fp, "host key changed on restart")


# ------------------------------------------------------------------ signals, logs


def test_sighup_reload_keeps_tunnels(t):
    """SIGHUP re-reads authorized_keys without dropping a live tunnel."""
    srv, key = server(t, *LOOPBACK)
    client = t.alknet(srv, key)
    blast = t.blast()
    run = t.proc([harness.ensure_blast(), "client", "127.0.0.1", blast.port, "E", harness.size("64M"),
                  "--socks", f"127.0.0.1:{client.socks}", "--timeout", "60"], name="long")
    second = t.keygen("second")
    base = ["connect", f"{srv.user}@127.0.0.1", "-p", srv.port, "--known-hosts", srv.known_hosts,
            "--check", "-i", second]
    status, _, _ = harness.alknet(base)
    check(status == 6, "the new key must not work before SIGHUP")
    srv.add_authorized_key(second + ".pub")
    srv.proc.signal(signal.SIGHUP)
    srv.proc.wait_for("SIGHUP: 2 keys")
    status, _, err = harness.alknet(base)
    check(status == 0, f"the new key must work after SIGHUP: {err}")
    check(run.wait(90) == 0, "the live stream broke: " + run.stdout_text())


def test_sigusr1_status_and_sigterm(t):
    srv, key = server(t, *LOOPBACK)
    client = t.alknet(srv, key)
    code, s = socks_connect(client.socks, "alknet-echo", 7)
    check(code == 0, "echo stream")
    srv.proc.signal(signal.SIGUSR1)
    line = srv.proc.wait_for("status: 1 connections (1 authenticated), 1 streams open")
    srv.proc.signal(signal.SIGTERM)
    check(srv.proc.wait(10) == 0, "SIGTERM must end the server cleanly")
    check("server shutting down" in client.proc.wait_for("server shutting down"), "client told")
    log = srv.log()
    check("closed after" in log and "bytes in" in log, log)


def test_log_lines(t):
    """One line per event with connection id, peer, key fingerprint,
    destination and byte counts."""
    srv, key = server(t, *LOOPBACK)
    client = t.alknet(srv, key)
    ok, line = t.blast().client("E", "100k", socks=client.socks, socks_name="localhost")
    check(ok, line)
    client.proc.kill()
    time.sleep(0.3)
    log = srv.log()
    fp = harness.fingerprint(key + ".pub")
    auth = [l for l in log.splitlines() if f"authenticated with key {fp}" in l]
    check(len(auth) == 1, log)
    cid = auth[0].split()[3]  # "c2": the harness's port probe was c1
    check(cid[0] == "c" and f"{cid} connection from 127.0.0.1:" in log, log)
    check(f"{cid} stream localhost:" in log and "102413 received" in log, log)
    check(any(l.split()[3:4] == [cid] and "closed after" in l and "bytes in" in l
              for l in log.splitlines()), log)


def test_config_file_rules_reload(t):
    """serve -F FILE: rules come from the file; SIGHUP re-reads them, and a
    broken file keeps the old rules."""
    conf = t.path("serve.conf")
    srv = t.server("-F", conf, start=False)
    key = srv.new_client_key()
    with open(conf, "w") as f:
        f.write("# destinations\nmax-channels 100\n")
    srv.start()
    client = t.alknet(srv, key)
    blast = t.blast()
    code, _ = socks_connect(client.socks, "127.0.0.1", blast.port, atyp=1)
    check(code == 2, f"loopback before the rule: reply {code}")
    with open(conf, "a") as f:
        f.write("allow 127.0.0.0/8\n")
    srv.proc.signal(signal.SIGHUP)
    srv.proc.wait_for("1 destination rules")
    ok, line = blast.client("E", "64k", socks=client.socks)
    check(ok, f"after SIGHUP: {line}")
    with open(conf, "a") as f:
        f.write("deny 10.0.0.0/33\n")
    srv.proc.signal(signal.SIGHUP)
    srv.proc.wait_for("keeping the old ones")
    ok, line = blast.client("E", "64k", socks=client.socks)
    check(ok, f"old rules kept after a broken reload: {line}")


def test_default_config_file(t):
    """Without -F, serve reads /etc/alknet/alknet.conf when run as root, else
    ~/.alknet/alknet.conf (if it exists); --help names the one it reads.
    As root, /etc/alknet comes from an overlay in a private mount namespace,
    so the machine's /etc is never touched; as another user, `nobody`."""
    home = t.path("home")
    os.makedirs(os.path.join(home, ".alknet"))
    in_home = os.path.join(home, ".alknet", "alknet.conf")
    with open(in_home, "w") as f:
        f.write("# the home file\nfrobnicate yes\n")
    status, out, _ = harness.alknet(["serve", "--help"], env={"HOME": home})
    if os.geteuid() != 0:
        check("~/.alknet/alknet.conf (as root: /etc/alknet/alknet.conf) is read" in out, out)
        status, _, err = harness.alknet(["serve"], env={"HOME": home})
        check(status == 2 and f"{in_home}:2: unknown keyword 'frobnicate'" in err,
              f"{status} {err}")
        raise harness.Skip("not root: the /etc/alknet/alknet.conf case needs a mount namespace")
    check("without -F, /etc/alknet/alknet.conf is read if it exists" in out, out)
    # the home file is for non-root servers: as nobody, it is read
    os.chmod(t.path(), 0o755)
    os.chown(home, 65534, 65534)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        ALKNET, "serve"], env=dict(os.environ, HOME=home),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    err = r.stderr.decode()
    check(r.returncode == 2 and f"{in_home}:2: unknown keyword 'frobnicate'" in err,
          f"as nobody: {r.returncode} {err}")
    # root: /etc/alknet/alknet.conf, seen through an overlay of /etc
    srv = t.server(start=False)
    key = srv.new_client_key()
    upper, work = t.path("etc-upper"), t.path("etc-work")
    os.makedirs(os.path.join(upper, "alknet"))
    os.makedirs(work)
    with open(os.path.join(upper, "alknet", "alknet.conf"), "w") as f:
        f.write(f"listen 127.0.0.1:{srv.port}\nhost-key {srv.host_key}\n"
                f"authorized-keys {srv.authorized_keys}\nallow 127.0.0.0/8\n")
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           stderr=subprocess.PIPE)
    if probe.returncode != 0:
        raise harness.Skip(f"no mount namespace here: {probe.stderr.decode().strip()}")
    proc = t.proc(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                   f"mount -t overlay overlay -o lowerdir=/etc,upperdir={upper},workdir={work} "
                   f"/etc && exec {ALKNET} serve"], env={"HOME": home}, name="serve")
    srv.adopt(proc)
    client = t.alknet(srv, key)
    ok, line = t.blast().client("E", "64k", socks=client.socks)
    check(ok, line)
