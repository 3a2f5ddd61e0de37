"""alknet connect against the real OpenSSH sshd (issue 2): SOCKS5h with curl
and with blast, every cipher, many streams, half-close, rekeying, -L, -W,
the -- COMMAND wrapper, --check, and the failure exit codes."""

import os
import socket
import struct
import time

import harness
from harness import ALKNET, check

CIPHERS = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
BIG = harness.size(os.environ.get("ALK_BIG", "256M"))  # each way, per cipher


def setup(t, *args, **sshd_options):
    """A private sshd, a key it accepts, a blast server and alknet -D."""
    sshd = t.sshd(**sshd_options)
    key = sshd.new_client_key()
    client = t.alknet(sshd, key, *args)
    return sshd, key, client, t.blast()


def connect_args(sshd, key, *extra):
    return ["connect", f"{sshd.user}@127.0.0.1", "-p", sshd.port, "-i", key,
            "--known-hosts", sshd.known_hosts, *extra]


# ------------------------------------------------------------------ data


def test_curl_socks5h_by_name(t):
    """curl --socks5-hostname fetches a page by host name, byte-identical;
    the name is resolved by sshd, not here."""
    sshd, key, client, _ = setup(t)
    page = os.urandom(300000) + b"end"
    http = t.http({"/page.bin": page, "/index.html": b"<h1>alknet</h1>\n"})
    out = t.path("got.bin")
    for path, body in [("/page.bin", page), ("/index.html", b"<h1>alknet</h1>\n")]:
        harness.run(["curl", "-sS", "-f", "--max-time", "20", "--socks5-hostname",
                     f"127.0.0.1:{client.socks}", "-o", out, http.url(path, host="localhost")])
        with open(out, "rb") as f:
            check(f.read() == body, f"{path}: body differs")


def _bulk(t, cipher):
    sshd, key, client, blast = setup(t, Ciphers=cipher)
    ok, line = blast.client("E", BIG, socks=client.socks, socks_name="localhost", timeout=240)
    check(ok, f"{cipher}: {line}")
    log = client.proc.stderr_text()
    check(cipher in log, f"alknet did not report cipher {cipher}:\n{log}")


@harness.timeout(300)
def test_bulk_chacha20_poly1305(t):
    """256 MiB each way at once (echo), every byte checked, chacha20-poly1305."""
    _bulk(t, CIPHERS[0])


@harness.timeout(300)
def test_bulk_aes128_gcm(t):
    _bulk(t, CIPHERS[1])


@harness.timeout(300)
def test_bulk_aes256_gcm(t):
    _bulk(t, CIPHERS[2])


def test_edge_sizes(t):
    """Payloads at the packet edges (0, 1, 2, 32767, 32768, 32769, 200000)."""
    sshd, key, client, blast = setup(t)
    for n in [0, 1, 2, 32767, 32768, 32769, 200000]:
        for mode in "EUD":
            ok, line = blast.client(mode, n, socks=client.socks, timeout=30)
            check(ok, f"{mode} {n}: {line}")


def test_100_concurrent_streams(t):
    sshd, key, client, blast = setup(t)
    ok, line = blast.client("E", harness.size("1M"), streams=harness.count(100), socks=client.socks,
                            timeout=120)
    check(ok, line)
    ok, line = blast.client("D", "256k", streams=harness.count(100), socks=client.socks, pipeline=True,
                            timeout=120)
    check(ok, "pipelined greeting+request: " + line)


def test_half_close(t):
    """The client shuts down its write side and still receives the whole answer."""
    sshd, key, client, blast = setup(t)
    ok, line = blast.client("E", harness.size("8M"), socks=client.socks, halfclose=True, timeout=60)
    check(ok, line)
    ok, line = blast.client("E", "64k", streams=20, socks=client.socks, halfclose=True)
    check(ok, line)


@harness.timeout(240)
def test_rekey_by_sshd(t):
    """sshd with RekeyLimit 1M: dozens of rekeys while 64 MiB flow each way."""
    sshd, key, client, blast = setup(t, "-vv", RekeyLimit="1M")
    ok, line = blast.client("E", harness.size("64M"), socks=client.socks, timeout=180)
    check(ok, line)
    rekeys = client.proc.stderr_text().count("rekey done")
    check(rekeys >= (2 if harness.SMALL else 20), f"expected many rekeys, saw {rekeys}")


def test_ipv6_destination(t):
    """A CONNECT with an IPv6 address (ATYP 4) to a server on ::1."""
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        raise harness.Skip("no IPv6 loopback here")
    sshd = t.sshd()
    key = sshd.new_client_key()
    client = t.alknet(sshd, key)
    blast = t.blast(listen="[::1]:0")
    ok, line = t.blast_client("::1", blast.port, "E", "1M", socks=client.socks)
    check(ok, line)


def test_socks_auth_with_curl(t):
    sshd = t.sshd()
    key = sshd.new_client_key()
    client = t.alknet(sshd, key, "--socks-auth", "alice:s3cret")
    http = t.http({"/x": b"authorized\n"})
    got = harness.run(["curl", "-sS", "-f", "--max-time", "20", "--proxy",
                       f"socks5h://alice:s3cret@127.0.0.1:{client.socks}", http.url("/x")])
    check(got == "authorized\n", repr(got))
    r = harness.run(["curl", "-sS", "--max-time", "20", "--proxy",
                     f"socks5h://alice:wrong@127.0.0.1:{client.socks}", http.url("/x")],
                    check_status=False)
    reply, closed = harness.socks_raw(client.socks, b"\x05\x01\x00")
    check(reply == b"\x05\xff" and closed, f"no-auth client must be refused: {reply!r}")


# ------------------------------------------------------------------ -L, -W, --


def test_local_forward(t):
    sshd = t.sshd()
    key = sshd.new_client_key()
    blast = t.blast()
    lport = harness.free_port()
    client = t.alknet(sshd, key, "-L", f"127.0.0.1:{lport}:localhost:{blast.port}", socks=False)
    harness.wait_port(lport, proc=client.proc)
    ok, line = t.blast_client("127.0.0.1", lport, "E", harness.size("16M"), streams=4)
    check(ok, line)


def test_stdio_as_proxycommand(t):
    """ssh -o ProxyCommand='alknet connect ... -W %h:%p' reaches the same sshd."""
    sshd = t.sshd()
    key = sshd.new_client_key()
    proxy = " ".join(str(a) for a in [ALKNET] + connect_args(sshd, key, "-q", "-W", "%h:%p"))
    argv = sshd.ssh_argv(key, "echo", "through-alknet")
    argv[1:1] = ["-o", f"ProxyCommand={proxy}"]
    out = harness.run(argv, timeout=30)
    check(out.strip() == "through-alknet", repr(out))


def test_stdio_exit_codes(t):
    """-W: exit 0 when the stream ends normally, 7 when it cannot open."""
    sshd = t.sshd()
    key = sshd.new_client_key()
    blast = t.blast()
    hdr = b"E" + struct.pack(">QI", 5, 7)
    status, out, err = harness.alknet(connect_args(sshd, key, "-W", f"127.0.0.1:{blast.port}"),
                                      stdin=hdr + b"hello")
    check(status == 0 and out == "hello", f"status {status}, out {out!r}: {err}")
    dead = harness.free_port()
    status, out, err = harness.alknet(connect_args(sshd, key, "-W", f"127.0.0.1:{dead}"))
    check(status == 7 and "cannot open a stream" in err, f"status {status}: {err}")


def test_command_wrapper(t):
    """alknet connect ... -- curl URL: the tunnel comes up, curl runs with
    ALL_PROXY set, and alknet exits with curl's own status."""
    sshd = t.sshd()
    key = sshd.new_client_key()
    http = t.http({"/hello": b"hello through the wrapper\n"})
    out = t.path("out")
    status, _, err = harness.alknet(connect_args(
        sshd, key, "--", "curl", "-sS", "-f", "-o", out, http.url("/hello", host="localhost")))
    check(status == 0, f"status {status}: {err}")
    with open(out, "rb") as f:
        check(f.read() == b"hello through the wrapper\n", "body differs")
    status, _, err = harness.alknet(connect_args(
        sshd, key, "--", "curl", "-sS", "-f", "-o", out, http.url("/missing", host="localhost")))
    check(status == 22, f"curl's 404 status 22 expected, got {status}: {err}")
    status, _, err = harness.alknet(connect_args(sshd, key, "--", "sh", "-c", "exit 42"))
    check(status == 42, f"got {status}")
    # with -D, the command gets the first SOCKS listener, reached where it listens
    p = harness.free_port()
    for listen, url in ((f"[::1]:{p}", f"socks5h://[::1]:{p}"),
                        (f"0.0.0.0:{p}", f"socks5h://127.0.0.1:{p}"),
                        (f"127.0.0.1:{p}", f"socks5h://127.0.0.1:{p}")):
        status, out, err = harness.alknet(connect_args(
            sshd, key, "-D", listen, "--", "sh", "-c",
            'echo "$ALL_PROXY $all_proxy"; curl -sS -f "$0"', http.url("/hello", host="localhost")))
        check(status == 0 and out == f"{url} {url}\nhello through the wrapper\n",
              f"-D {listen}: status {status}, {out!r}: {err}")


def test_check(t):
    sshd = t.sshd()
    key = sshd.new_client_key()
    status, out, err = harness.alknet(connect_args(sshd, key, "--check"))
    check(status == 0 and out.startswith("ok 127.0.0.1:") and sshd.host_fingerprint in out,
          f"status {status}: {out} {err}")


# ------------------------------------------------------------------ failures


def test_wrong_host_key_pin(t):
    sshd = t.sshd()
    key = sshd.new_client_key()
    wrong = "SHA256:" + "A" * 43
    status, _, err = harness.alknet(connect_args(sshd, key, "--host-key", wrong, "--check"))
    check(status == 5 and "does not match --host-key" in err and sshd.host_fingerprint in err,
          f"status {status}: {err}")
    status, out, err = harness.alknet(connect_args(sshd, key, "--host-key",
                                                   sshd.host_fingerprint, "--check"))
    check(status == 0, f"the right pin must work: {status} {err}")


def test_unknown_and_changed_host_key(t):
    sshd = t.sshd()
    key = sshd.new_client_key()
    empty = t.path("empty_known_hosts")
    open(empty, "w").close()
    args = connect_args(sshd, key, "--check")
    args[args.index(sshd.known_hosts)] = empty
    status, _, err = harness.alknet(args, env={"HOME": t.path()})
    check(status == 5 and "not known" in err and sshd.host_fingerprint in err,
          f"unknown key: {status}: {err}")
    other = t.keygen("other_host")
    with open(other + ".pub") as f:
        kt, blob = f.read().split()[:2]
    changed = t.path("changed_known_hosts")
    with open(changed, "w") as f:
        f.write(f"[127.0.0.1]:{sshd.port} {kt} {blob}\n")
    args[args.index(empty)] = changed
    status, _, err = harness.alknet(args, env={"HOME": t.path()})
    check(status == 5 and "CHANGED" in err and f"{changed}:1" in err, f"changed: {status}: {err}")


def test_key_not_authorized(t):
    sshd = t.sshd()
    sshd.new_client_key()
    stranger = t.keygen("stranger")
    status, _, err = harness.alknet(connect_args(sshd, stranger, "--check"))
    check(status == 6 and "refused key" in err and harness.fingerprint(stranger + ".pub") in err,
          f"status {status}: {err}")


def test_nothing_listening(t):
    key = t.keygen()
    port = harness.free_port()
    status, _, err = harness.alknet(["connect", "u@127.0.0.1", "-p", port, "-i", key, "--check"])
    check(status == 4 and "cannot connect" in err and "refused" in err.lower(),
          f"status {status}: {err}")


def test_usage_errors(t):
    for argv, what in [(["connect"], "missing the server"),
                       (["connect", "h", "-L", "8080:x"], "expected [ADDR:]PORT:HOST:HOSTPORT"),
                       (["connect", "h", "--bogus"], "unknown option"),
                       (["connect", "h", "-c", "aes128-ctr"], "unknown cipher"),
                       (["frobnicate"], "unknown command")]:
        status, _, err = harness.alknet(argv)
        check(status == 2 and what in err, f"{argv}: {status} {err}")
    status, out, _ = harness.alknet(["connect", "--help"])
    check(status == 0 and "--dynamic" in out and "exit codes" in out, out)


def test_malformed_socks_leaves_others_alone(t):
    """Bad version, unknown ATYP, BIND, truncated requests each get their
    reply (or a plain close) while a long stream on the same tunnel goes on."""
    sshd, key, client, blast = setup(t)
    long_run = t.proc([harness.ensure_blast(), "client", "127.0.0.1", blast.port, "E", harness.size("48M"),
                       "--socks", f"127.0.0.1:{client.socks}", "--timeout", "120"],
                      name="long-stream")
    time.sleep(0.3)
    cases = [
        (b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00", b"\x00\x5b", "SOCKS4 request"),
        (b"\x06\x01\x00", b"", "version 6"),
        (b"\x05\x01\x00\x05\x01\x00\x09\x01\x02\x03\x04\x00\x50", b"\x05\x00\x05\x08", "ATYP 9"),
        (b"\x05\x01\x00\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50", b"\x05\x00\x05\x07", "BIND"),
        (b"\x05\x01\x00\x05\x03\x00\x01\x7f\x00\x00\x01\x00\x50", b"\x05\x00\x05\x07", "UDP"),
        (b"\x05\x01\x00\x05\x01\x00\x03\x0bexample", b"\x05\x00", "truncated name"),
        (b"\x05\x05", b"", "truncated greeting"),
    ]
    for data, want, what in cases:
        reply, closed = harness.socks_raw(client.socks, data, timeout=3, shut=True)
        check(reply.startswith(want) and closed, f"{what}: reply {reply!r}, closed {closed}")
    split = [b"\x05", b"\x01\x00\x05\x01", b"\x00\x03\x09localhost", struct.pack(">H", blast.port)]
    reply, closed = harness.socks_raw(client.socks, split, read_until_close=False, want=12)
    check(reply[:2] == b"\x05\x00" and reply[2:4] == b"\x05\x00", f"split request: {reply!r}")
    check(long_run.wait(150) == 0, "long stream failed: " + long_run.stdout_text())
    check(client.proc.alive(), "alknet died")


def test_refused_destination_reply(t):
    """sshd's 'Connection refused' becomes SOCKS reply 5, and curl says so."""
    sshd, key, client, _ = setup(t)
    dead = harness.free_port()
    req = b"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", dead)
    reply, closed = harness.socks_raw(client.socks, req)
    check(reply == b"\x05\x00\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00" and closed, repr(reply))


def test_connection_lost_while_command_runs(t):
    """--no-reconnect: the server goes away while the wrapped command runs:
    its next request through the tunnel fails at once with a SOCKS error (no
    hang), and alknet still exits with the command's own status."""
    sshd = t.sshd()
    key = sshd.new_client_key()
    http = t.http({"/a": b"first\n"})
    url = http.url("/a", host="localhost")
    d = t.path()
    script = (f"curl -sS -f -o /dev/null {url} && touch {d}/ready; "
              f"while [ ! -f {d}/go ]; do sleep 0.05; done; "
              f"curl -sS -o /dev/null --max-time 20 {url}; echo $? > {d}/second; exit 3")
    p = t.proc([ALKNET] + connect_args(sshd, key, "--no-reconnect", "--", "sh", "-c", script), name="alknet")
    deadline = time.monotonic() + 20
    while not os.path.exists(f"{d}/ready"):
        check(p.alive() and time.monotonic() < deadline, "first request did not succeed:\n" +
              p.stderr_tail())
        time.sleep(0.05)
    sshd.stop()
    p.wait_for("lost the connection", timeout=10)
    start = time.monotonic()
    open(f"{d}/go", "w").close()
    status = p.wait(30)
    check(status == 3, f"alknet must exit with the command's status 3, got {status}")
    check(time.monotonic() - start < 10, "the failed request took too long")
    with open(f"{d}/second") as f:
        code = f.read().strip()
    check(code == "97", f"curl should report a SOCKS failure (97), got {code}")


def test_keepalive_answered(t):
    """--keepalive 1: an idle tunnel sends keepalive@openssh.com requests,
    sshd answers them, and the tunnel stays up and usable."""
    sshd = t.sshd(LogLevel="DEBUG3")
    key = sshd.new_client_key()
    client = t.alknet(sshd, key, "--keepalive", "1")
    http = t.http({"/k": b"still here\n"})
    time.sleep(4.5)
    log = sshd.proc.stderr_text()
    n = log.count("rtype keepalive@openssh.com want_reply 1")
    check(n >= 2, f"sshd saw {n} keepalives in 4.5 s of idle")
    got = harness.run(["curl", "-sS", "--max-time", "10", "--socks5-hostname",
                       f"127.0.0.1:{client.socks}", http.url("/k", host="localhost")])
    check(got == "still here\n" and client.proc.alive(), repr(got))


def test_config_file(t):
    """-F FILE: long option names as keywords, repeatable ones repeat, the
    command line wins, an unknown keyword or bad value names file:line."""
    sshd = t.sshd()
    key = sshd.new_client_key()
    blast = t.blast()
    p1, p2 = harness.free_port(), harness.free_port()
    conf = t.path("client.conf")
    with open(conf, "w") as f:
        f.write(f"# a comment\n\nport {sshd.port}\nidentity {key}\n"
                f"known-hosts {sshd.known_hosts}\ndynamic 127.0.0.1:{p1}\n"
                f"dynamic 127.0.0.1:{p2}\nciphers chacha20-poly1305@openssh.com\n"
                f"keepalive 30\n")
    c = t.proc([ALKNET, "connect", f"{sshd.user}@127.0.0.1", "-F", conf, "-c",
                "aes256-gcm@openssh.com"], name="alknet")
    for p in (p1, p2):
        harness.wait_port(p, proc=c)
        ok, line = t.blast_client("127.0.0.1", blast.port, "E", "1M", socks=p)
        check(ok, line)
    c.wait_for("cipher aes256-gcm@openssh.com")  # -c beat the file's ciphers line
    with open(conf, "a") as f:
        f.write("frobnicate yes\n")
    status, _, err = harness.alknet(["connect", "h", "-F", conf])
    check(status == 2 and f"{conf}:10: unknown keyword 'frobnicate'" in err, f"{status} {err}")
    with open(conf, "w") as f:
        f.write("port 99999\n")
    status, _, err = harness.alknet(["connect", "h", "-F", conf])
    check(status == 2 and f"{conf}:1: port" in err, f"{status} {err}")
    status, _, err = harness.alknet(["connect", "h", "-F", t.path("missing.conf")])
    check(status == 3 and "missing.conf" in err, f"{status} {err}")


def test_default_config_file(t):
    """Without -F, ~/.alknet/config is read if it exists (a missing one is
    no error); with -F it is not read; a bad line in it names file:line."""
    sshd = t.sshd()
    key = sshd.new_client_key()
    home = t.path("home")
    os.makedirs(os.path.join(home, ".alknet"))
    default = os.path.join(home, ".alknet", "config")
    status, out, _ = harness.alknet(["connect", "--help"], env={"HOME": home})
    check(status == 0 and "~/.alknet/config is read" in out, out)
    p = harness.free_port()
    os.rename(key, os.path.join(home, ".alknet", "id_test"))  # "~/" in FILE values is HOME
    with open(default, "w") as f:
        f.write(f"port {sshd.port}\nidentity ~/.alknet/id_test\nknown-hosts {sshd.known_hosts}\n"
                f"dynamic 127.0.0.1:{p}\n")
    c = t.proc([ALKNET, "connect", f"{sshd.user}@127.0.0.1"], env={"HOME": home},
               name="alknet")
    harness.wait_port(p, proc=c)
    http = t.http({"/d": b"from the default config\n"})
    got = harness.run(["curl", "-sS", "--max-time", "10", "--socks5-hostname",
                       f"127.0.0.1:{p}", http.url("/d", host="localhost")])
    check(got == "from the default config\n", repr(got))
    c.kill()
    with open(default, "a") as f:
        f.write("frobnicate yes\n")
    status, _, err = harness.alknet(["connect", "h"], env={"HOME": home})
    check(status == 2 and f"{default}:5: unknown keyword 'frobnicate'" in err, f"{status} {err}")
    other = t.path("other.conf")
    with open(other, "w") as f:
        f.write("keepalive 5\n")
    status, out, err = harness.alknet(["connect", f"{sshd.user}@127.0.0.1", "-p", sshd.port,
                                       "-i", os.path.join(home, ".alknet", "id_test"),
                                       "--known-hosts", sshd.known_hosts,
                                       "-F", other, "--check"], env={"HOME": home})
    check(status == 0, f"-F other: the default file was read too? {status} {err}")
