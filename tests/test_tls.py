"""TLS transport, stealth and outbound proxies (issue 5): alknet connect
--tls against alknet serve --tls-listen, certificates made by openssl,
stock ssh through `openssl s_client`, a real web server behind --fallback,
probes that must learn nothing, and Debian's microsocks and tinyproxy as
upstream proxies on both sides."""

import os
import re
import select
import socket
import ssl
import subprocess
import threading
import time

import harness
from harness import ALKNET, check

CIPHERS = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
BIG = harness.size(os.environ.get("ALK_BIG", "256M"))
LOOPBACK = ("--allow", "127.0.0.0/8")
PAGE = b"<html><body>" + b"the web server behind alknet " * 400 + b"</body></html>\n"


def server(t, *args, tls=True, key_options=None):
    """alknet serve with a plain and a TLS listener and one client key."""
    return t.server_with_key(*args, tls=tls, key_options=key_options)


def tls_client(t, srv, key, *args, **kw):
    return t.alknet(srv, key, "--tls", *args, port=srv.tls_port, **kw)


def check_run(srv, key, *args, port=None):
    """alknet connect --check against srv: (status, stdout, stderr)."""
    return harness.alknet(["connect", f"{srv.user}@127.0.0.1", "-p", port or srv.port, "-i", key,
                           "--known-hosts", srv.known_hosts, "--check", *args])


def client_hello(alpn=None, cut=None):
    """The first flight of a real TLS client (Python's ssl): a ClientHello,
    offering `alpn` if given, cut to `cut` bytes if given."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inb, outb, server_hostname="www.example.com")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outb.read()
    return hello[:cut] if cut else hello


def probe(port, data, timeout=25.0):
    """Sends data (nothing if empty), keeps the socket open and reads until
    the server closes: (bytes received, closed, seconds until the close)."""
    start = time.monotonic()
    got, closed = harness.socks_raw(port, data, timeout=timeout)
    return got, closed, time.monotonic() - start


def probes_in_parallel(port, named):
    """probe() for each (name, data) at once; returns {name: result}."""
    out = {}

    def one(name, data):
        out[name] = probe(port, data)

    threads = [threading.Thread(target=one, args=nd) for nd in named]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return out


class Recorder:
    """A one-connection TCP relay 127.0.0.1:port -> 127.0.0.1:target that
    keeps what the client sent before the server's first byte: the first
    packet a prober would record and replay."""

    def __init__(self, target):
        self.target = target
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.first = b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        c, _ = self.lsock.accept()
        u = socket.create_connection(("127.0.0.1", self.target))
        spoke = False
        socks = [c, u]
        while socks:
            r, _, _ = select.select(socks, [], [], 10)
            if not r:
                break
            for s in r:
                data = s.recv(65536)
                other = u if s is c else c
                if not data:
                    socks = []
                    break
                if s is c and not spoke:
                    self.first += data
                if s is u:
                    spoke = True
                other.sendall(data)
        c.close()
        u.close()
        self.lsock.close()


def curl(url, *args):
    r = subprocess.run(["curl", "-sS", "-k", "--max-time", "20", *args, url],
                       capture_output=True, timeout=30)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


# ------------------------------------------------------------------ the TLS transport


def _tls_bulk(t, cipher):
    srv, key = server(t, *LOOPBACK, "-c", cipher)
    client = tls_client(t, srv, key)
    ok, line = t.blast().client("E", BIG, socks=client.socks, socks_name="localhost",
                                timeout=240)
    check(ok, f"{cipher} over TLS: {line}")
    check(cipher in client.proc.stderr_text(), "cipher not negotiated as forced")
    check("(TLS)" in srv.log(), "the server did not see a TLS connection:\n" + srv.log())


@harness.timeout(300)
def test_tls_bulk_chacha20_poly1305(t):
    """256 MiB each way through connect --tls -> serve --tls-listen (the
    self-signed certificate made at start), every byte checked."""
    _tls_bulk(t, CIPHERS[0])


@harness.timeout(300)
def test_tls_bulk_aes128_gcm(t):
    _tls_bulk(t, CIPHERS[1])


@harness.timeout(300)
def test_tls_bulk_aes256_gcm(t):
    _tls_bulk(t, CIPHERS[2])


@harness.timeout(240)
def test_tls_1000_streams(t):
    srv, key = server(t, *LOOPBACK)
    client = tls_client(t, srv, key)
    n = harness.count(1000)
    ok, line = t.blast().client("E", "64k", streams=n, socks=client.socks, timeout=180)
    check(ok, line)


@harness.timeout(240)
def test_tls_openssl_certificates(t):
    """Certificates made by `openssl req`: RSA checked against --tls-ca and
    the name, EC pinned with --tls-pin as openssl computes the pin; wrong
    pin, wrong CA and wrong name fail with exit 5 and say why."""
    rsa = harness.openssl_cert(t.workdir, "rsa", "rsa", "localhost")
    ec = harness.openssl_cert(t.workdir, "ec", "ec", "localhost")
    other = harness.openssl_cert(t.workdir, "other", "ec", "localhost")
    srv, key = server(t, *LOOPBACK, "--tls-cert", rsa[0], "--tls-key", rsa[1])
    status, out, err = check_run(srv, key, "--tls", "--tls-ca", rsa[0], "--sni", "localhost",
                                 port=srv.tls_port)
    check(status == 0 and out.startswith("ok "), f"RSA certificate with --tls-ca: {status} {err}")
    bundle = t.path("bundle.pem")  # a CA bundle's size: the anchor among 300 others
    with open(bundle, "w") as f:
        f.write(open(other[0]).read() * 300 + open(rsa[0]).read())
    client = tls_client(t, srv, key, "--tls-ca", bundle, "--sni", "localhost")
    ok, line = t.blast().client("E", "32M", socks=client.socks, timeout=120)
    check(ok, line)

    status, _, err = check_run(srv, key, "--tls", "--tls-ca", other[0], "--sni", "localhost",
                               port=srv.tls_port)
    check(status == 5 and "not signed by a CA in --tls-ca" in err, f"wrong CA: {status} {err}")
    status, _, err = check_run(srv, key, "--tls", "--tls-ca", rsa[0], "--sni", "other.example",
                               port=srv.tls_port)
    check(status == 5 and "issued for another name" in err, f"wrong name: {status} {err}")
    srv.stop()

    srv2, key2 = server(t, *LOOPBACK, "--tls-cert", ec[0], "--tls-key", ec[1])
    pin = harness.spki_pin(ec[0])
    check(pin in srv2.log(), "the server should log the pin of its certificate:\n" + srv2.log())
    status, out, err = check_run(srv2, key2, "--tls", "--tls-pin", pin, port=srv2.tls_port)
    check(status == 0, f"EC certificate with openssl's pin: {status} {err}")
    status, _, err = check_run(srv2, key2, "--tls", "--tls-pin", harness.spki_pin(other[0]),
                               port=srv2.tls_port)
    check(status == 5 and "--tls-pin" in err, f"wrong pin: {status} {err}")


def test_tls_generated_certificate_pin(t):
    """The self-signed certificate's pin, as the server logs it, is what
    the client's --tls-pin accepts; openssl sees the same key."""
    srv, key = server(t, *LOOPBACK)
    m = re.search(r"its key is (SHA256:\S+) ", srv.log())
    check(m, "no pin in the server log:\n" + srv.log())
    status, _, err = check_run(srv, key, "--tls", "--tls-pin", m.group(1), port=srv.tls_port)
    check(status == 0, f"--tls-pin from the log: {status} {err}")
    pem = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{srv.tls_port}",
                          "-alpn", "alknet-ssh"], input=b"", capture_output=True,
                         timeout=20).stdout.decode()
    cert = t.path("served.pem")
    with open(cert, "w") as f:
        f.write(pem[pem.index("-----BEGIN CERTIFICATE-----"):
                    pem.index("-----END CERTIFICATE-----") + 25] + "\n")
    check(harness.spki_pin(cert) == m.group(1), "openssl computes another pin")


def _stock_ssh(t, s_client_args=""):
    srv, key = server(t, *LOOPBACK)
    http = t.http({"/page": PAGE})
    socks = harness.free_port()
    proxy = f"openssl s_client -quiet -alpn alknet-ssh {s_client_args}" \
        f"-connect 127.0.0.1:{srv.tls_port}"
    argv = srv.ssh_argv(key, "-o", f"ProxyCommand={proxy}", "-N", "-D", f"127.0.0.1:{socks}")
    ssh = t.proc(argv, name="ssh")
    harness.wait_port(socks, proc=ssh)
    code, body, err = curl(http.url("/page"), "--socks5-hostname", f"127.0.0.1:{socks}")
    check(code == 0 and body == PAGE, f"curl through ssh over TLS: {code} {err}")
    ok, line = t.blast().client("E", harness.size("16M"), socks=socks, timeout=120)
    check(ok, line)
    check("(TLS)" in srv.log(), "not a TLS connection:\n" + srv.log())


def test_stock_ssh_through_openssl_s_client(t):
    """ssh -o ProxyCommand='openssl s_client -quiet -alpn alknet-ssh ...'
    reaches alknet serve over TLS; curl and a checked transfer go through."""
    _stock_ssh(t)


def test_stock_ssh_through_openssl_s_client_chacha20(t):
    """The same over TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, whose
    records go through alknet's own Poly1305 (tls_poly1305_run), with
    ECDHE on P-256 (br_ec_prime_i31 through ci_ec) instead of X25519."""
    _stock_ssh(t, "-tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305 -groups P-256 ")


def test_tls_misuse_is_reported(t):
    """--tls to a plain port, plain to a TLS port, --tls to an HTTPS server
    without our ALPN: each ends (exit 4) with a message, never hangs."""
    srv, key = server(t, *LOOPBACK)
    status, _, err = check_run(srv, key, "--tls", port=srv.port)
    check(status == 4 and "closed" in err, f"--tls to the plain port: {status} {err}")
    status, _, err = check_run(srv, key, port=srv.tls_port)
    check(status == 4 and "closed" in err, f"plain to the TLS port: {status} {err}")
    web = t.http({"/": b"x"}, tls=harness.openssl_cert(t.workdir))
    status, _, err = check_run(srv, key, "--tls", port=web.port)
    check(status == 4 and "ALPN" in err, f"--tls to a web server: {status} {err}")


def test_tls_usage_errors(t):
    srv, key = server(t, *LOOPBACK, tls=False)
    cases = [
        (["--sni", "x.example"], "add --tls"),
        (["--tls", "--tls-pin", "SHA256:abc"], "base64"),
        (["--proxy", "ftp://x:1"], "socks5://"),
        (["--proxy", "socks5://h:99999"], "socks5://"),
    ]
    for extra, words in cases:
        status, _, err = check_run(srv, key, *extra)
        check(status == 2 and words in err, f"{extra}: {status} {err}")
    bad = [
        (["--tls-cert", "x.pem"], 2, "go together"),
        (["--tls-cert", "x.pem", "--tls-key", "y.pem"], 2, "--tls-listen"),
        (["--tls-listen", "127.0.0.1:0", "--tls-cert", "/nonexistent.pem",
          "--tls-key", "/nonexistent.key"], 3, "/nonexistent.pem"),
        (["--banner", "SSH-2.0-"], 2, "banner"),
        (["--banner", "Open-SSH"], 2, "'-'"),
        (["--outbound", "socks5://"], 2, "outbound"),
        (["--fallback", "nohostport"], 2, "HOST:PORT"),
    ]
    for extra, want, words in bad:
        status, _, err = harness.alknet(["serve", "-l", "127.0.0.1:0", "-k", t.path("hk"),
                                         "-a", srv.authorized_keys, *extra], timeout=10)
        check(status == want and words in err, f"serve {extra}: {status} {err}")


# ------------------------------------------------------------------ stealth


@harness.timeout(120)
def test_fallback_looks_like_the_web_server(t):
    """With --fallback pointing at a local HTTPS server, both alknet ports
    serve its pages byte for byte; openssl s_client without our ALPN sees
    the web server, with it sees nothing until it sends an SSH line; nmap
    -sV does not report ssh on either port; alknet clients still get in."""
    cert = harness.openssl_cert(t.workdir)
    web = t.http({"/page": PAGE}, tls=cert)
    srv, key = server(t, *LOOPBACK, "--fallback", f"127.0.0.1:{web.port}", "-v")
    direct = curl(web.url("/page"))
    check(direct[0] == 0 and direct[1] == PAGE, f"the web server itself: {direct}")
    for port in (srv.tls_port, srv.port):
        code, body, err = curl(web.url("/page", port=port))
        check(code == 0 and body == PAGE, f"curl -k https:// to alknet port {port}: {code} {err}")

    s_client = ["openssl", "s_client", "-quiet", "-connect", f"127.0.0.1:{srv.tls_port}"]
    r = subprocess.run(s_client, input=b"GET /page HTTP/1.0\r\n\r\n", capture_output=True,
                       timeout=20)
    check(PAGE in r.stdout, "s_client without ALPN should see the web page")

    p = subprocess.Popen(s_client + ["-alpn", "alknet-ssh"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        ready, _, _ = select.select([p.stdout], [], [], 2.5)
        check(not ready, "with our ALPN the server must stay silent until an SSH line comes")
        p.stdin.write(b"SSH-2.0-probe\r\n")
        p.stdin.flush()
        ready, _, _ = select.select([p.stdout], [], [], 10)
        line = p.stdout.readline() if ready else b""
        check(line.startswith(b"SSH-2.0-"), f"expected an SSH line after ours, got {line!r}")
    finally:
        p.kill()
        p.wait()

    status, out, err = check_run(srv, key, "--tls", port=srv.tls_port)
    check(status == 0, f"alknet --tls beside the fallback: {err}")
    status, out, err = check_run(srv, key, port=srv.port)
    check(status == 0, f"alknet plain beside the fallback: {err}")

    r = subprocess.run(["nmap", "-sV", "-Pn", "-p", f"{srv.port},{srv.tls_port}", "127.0.0.1"],
                       capture_output=True, timeout=100)
    report = r.stdout.decode()
    lines = [ln for ln in report.splitlines() if re.match(r"\d+/tcp", ln)]
    check(len(lines) == 2, "nmap output:\n" + report)
    for ln in lines:
        check("ssh" not in ln.lower(), "nmap recognised SSH:\n" + report)
        check("http" in ln.lower(), "nmap should see the web server:\n" + report)
    print("nmap -sV: " + " | ".join(lines))
    check("spliced to --fallback" in srv.log(), "splices not logged at -v")


@harness.timeout(120)
def test_probers_get_nothing_without_fallback(t):
    """Without --fallback, whatever a prober sends (garbage, HTTP, TLS
    without or with a foreign ALPN, a truncated hello, silence, a replayed
    first packet of a real alknet connection) it gets zero bytes and a
    close, on both ports."""
    srv, key = server(t, *LOOPBACK, "-v")
    # record the first packet of a real connection on each port, then replay it
    rec_plain, rec_tls = Recorder(srv.port), Recorder(srv.tls_port)
    pin = ("--host-key", srv.host_fingerprint)
    status, _, err = check_run(srv, key, *pin, port=rec_plain.port)
    check(status == 0, f"alknet through the recorder: {err}")
    status, _, err = check_run(srv, key, "--tls", *pin, port=rec_tls.port)
    check(status == 0, f"alknet --tls through the recorder: {err}")
    rec_plain.thread.join(10)
    rec_tls.thread.join(10)
    check(rec_plain.first.startswith(b"SSH-2.0-") and len(rec_plain.first) > 100,
          f"the client's first packet: {rec_plain.first[:40]!r}")
    check(rec_tls.first[:1] == b"\x16", "the TLS client's first packet is not a ClientHello")

    plain = [
        ("garbage", os.urandom(64)),
        ("http", b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
        ("tls", client_hello(["h2", "http/1.1"])),
        ("truncated", b"SSH-2.0-Open"),
        ("silent", b""),
        ("replay", rec_plain.first),
        ("line-then-junk", b"SSH-2.0-x\r\n" + b"\0" * 40),
    ]
    tls = [
        ("garbage", os.urandom(64)),
        ("http", b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
        ("ssh", b"SSH-2.0-OpenSSH_9.2\r\n"),
        ("no-alpn", client_hello()),
        ("other-alpn", client_hello(["h2", "http/1.1"])),
        ("truncated", client_hello(["alknet-ssh"], cut=40)),
        ("silent", b""),
        ("replay", rec_tls.first),
    ]
    results = {}
    def run(port, label, cases):
        for k, v in probes_in_parallel(port, cases).items():
            results[f"{label} {k}"] = v

    threads = [threading.Thread(target=run, args=(srv.port, "plain", plain)),
               threading.Thread(target=run, args=(srv.tls_port, "tls", tls))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    check(len(results) == len(plain) + len(tls), f"probes missing: {sorted(results)}")
    for name, (got, closed, secs) in sorted(results.items()):
        check(got == b"", f"{name}: the server sent {got[:60]!r}")
        check(closed, f"{name}: not closed within 25 s")
    print("closed after: " + ", ".join(f"{n} {r[2]:.1f}s" for n, r in sorted(results.items())))
    log = srv.log()
    check("replayed first packet" in log and "replayed TLS ClientHello" in log,
          "replays not recognised:\n" + log)
    status, _, err = check_run(srv, key, "--tls", port=srv.tls_port)
    check(status == 0, f"a real client after the probes: {err}")


def test_banner(t):
    """--banner sets the identification line; clients still connect."""
    banner = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
    srv, key = server(t, *LOOPBACK, "--banner", banner)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"SSH-2.0-probe\r\n")
        line = b""
        while not line.endswith(b"\n"):
            part = s.recv(1)
            if not part:
                break
            line += part
    check(line == banner.encode() + b"\r\n", f"identification line {line!r}")
    status, _, err = check_run(srv, key, "-v", port=srv.port)
    check(status == 0 and "OpenSSH_9.2p1" in err, f"client with --banner server: {err}")
    ssh = subprocess.run(srv.ssh_argv(key, "-v", "true"), capture_output=True, timeout=20)
    check(b"remote software version OpenSSH_9.2p1" in ssh.stderr,
          "ssh -v did not see the banner: " + ssh.stderr.decode()[-400:])


# ------------------------------------------------------------------ outbound proxies


def test_outbound_through_microsocks(t):
    """serve --outbound socks5://: streams go through microsocks, which gets
    the destination name unresolved; a refused destination and wrong
    credentials come back as the right SOCKS replies."""
    ms = harness.Microsocks(t.workdir, "alice", "s3cret:@/")
    url = f"socks5://alice:s3cret%3A%40%2F@127.0.0.1:{ms.port}"
    srv, key = server(t, *LOOPBACK, "--outbound", url, tls=False)
    check("s3cret" not in srv.log(), "the password must not be logged")
    client = t.alknet(srv, key)
    # microsocks tries only the first address of "localhost": listen there
    first = harness.localhost_first()
    blast = t.blast(harness.listen_spec(first))
    for mode in "UD":  # microsocks cannot echo (see harness.Microsocks)
        ok, line = blast.client(mode, harness.size("8M"), socks=client.socks,
                                socks_name="localhost")
        check(ok, f"{mode}: {line}")
    check(f"connected to localhost:{blast.port}" in ms.log(),
          "microsocks did not get the name unresolved:\n" + ms.log())
    closed = harness.free_port()
    got, _ = harness.socks_raw(client.socks, b"\x05\x01\x00" + b"\x05\x01\x00\x03\x09localhost"
                               + closed.to_bytes(2, "big"), read_until_close=False, want=12)
    check(got[:2] == b"\x05\x00" and got[3] == 5,
          f"refused destination through the proxy: reply {got[:4]!r}")
    http = t.http({"/p": PAGE}, host=first)
    code, body, err = curl(f"http://localhost:{http.port}/p", "--socks5-hostname",
                           f"127.0.0.1:{client.socks}")
    check(code == 0 and body == PAGE, f"curl through --outbound: {err}")
    srv.stop()

    srv2, key2 = server(t, *LOOPBACK, "--outbound", f"socks5://alice:wrong@127.0.0.1:{ms.port}",
                        tls=False)
    client2 = t.alknet(srv2, key2)
    got, _ = harness.socks_raw(client2.socks, b"\x05\x01\x00" + b"\x05\x01\x00\x03\x09localhost"
                               + blast.port.to_bytes(2, "big"), read_until_close=False, want=12)
    check(got[3:4] != b"\x00" and len(got) >= 4, f"wrong credentials: reply {got!r}")
    check("refused the user name or password" in srv2.log(), srv2.log())


def test_outbound_through_tinyproxy(t):
    """serve --outbound http://: streams go through tinyproxy's CONNECT."""
    tp = harness.Tinyproxy(t.workdir)
    srv, key = server(t, *LOOPBACK, "--outbound", f"http://127.0.0.1:{tp.port}", tls=False)
    client = t.alknet(srv, key)
    blast = t.blast()
    ok, line = blast.client("E", harness.size("8M"), socks=client.socks, socks_name="localhost")
    check(ok, line)
    check(f"localhost:{blast.port}" in tp.log(), "tinyproxy did not log the CONNECT:\n" + tp.log())
    closed = harness.free_port()
    got, _ = harness.socks_raw(client.socks, b"\x05\x01\x00" + b"\x05\x01\x00\x03\x09localhost"
                               + closed.to_bytes(2, "big"), read_until_close=False, want=12)
    check(len(got) >= 4 and got[3] != 0, f"refused destination through tinyproxy: {got!r}")
    check("refused: HTTP/1." in srv.log(), "the proxy's answer should be logged:\n" + srv.log())


def test_connect_through_proxies(t):
    """connect --proxy reaches the server through microsocks and through
    tinyproxy (plain and TLS); proxy failures end with exit 4 and say why."""
    srv, key = server(t, *LOOPBACK)
    ms = harness.Microsocks(t.workdir)
    tp = harness.Tinyproxy(t.workdir)
    status, _, err = check_run(srv, key, "--proxy", f"socks5://127.0.0.1:{ms.port}")
    check(status == 0, f"through microsocks: {err}")
    check(f"connected to 127.0.0.1:{srv.port}" in ms.log(), ms.log())
    status, _, err = check_run(srv, key, "--tls", "--proxy", f"http://127.0.0.1:{tp.port}",
                               port=srv.tls_port)
    check(status == 0, f"--tls through tinyproxy: {err}")
    check(f"127.0.0.1:{srv.tls_port}" in tp.log(), tp.log())
    client = t.alknet(srv, key, "--proxy", f"socks5://127.0.0.1:{ms.port}")
    blast = t.blast()
    for mode in "UD":  # microsocks cannot echo (see harness.Microsocks)
        ok, line = blast.client(mode, harness.size("8M"), socks=client.socks)
        check(ok, f"{mode}: {line}")

    dead = harness.free_port()
    status, _, err = check_run(srv, key, "--proxy", f"socks5://127.0.0.1:{dead}")
    check(status == 4 and "cannot connect to the proxy" in err, f"no proxy: {status} {err}")
    status, _, err = check_run(srv, key, "--proxy", f"socks5://127.0.0.1:{ms.port}", port=dead)
    check(status == 4 and "Connection refused" in err, f"refused by microsocks: {status} {err}")
    status, _, err = check_run(srv, key, "--proxy", f"http://127.0.0.1:{tp.port}", port=dead)
    check(status == 4 and "refused" in err, f"refused by tinyproxy: {status} {err}")
