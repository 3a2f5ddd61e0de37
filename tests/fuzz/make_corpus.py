#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/NAME/.

    python3 tests/fuzz/make_corpus.py [BUILD_DIR [TARGET...]]     (make fuzz-corpus)

With TARGETs (make fuzz-corpus FUZZ_TARGETS="proxy ..."), only their
corpora are written; without, all of them.

Two kinds of seed, each file prefixed with the selector byte its target
reads first (see the comment at the top of tests/fuzz/fuzz_*.c):
  - generated: BUILD_DIR/seeds_NAME (the target built with -DFUZZ_SEEDS)
    writes whole sessions and files in the fuzz world (none@fuzz cipher,
    the fixed keys), so that the fuzzers start past the handshake;
  - captured from real peers on loopback: the first flight of OpenSSH's ssh
    and sshd, curl's SOCKS5 requests (with and without RFC 1929 auth),
    replies of tests/dnsd.py, files made by ssh-keygen, the replies of
    microsocks (SOCKS5) and tinyproxy (HTTP CONNECT) to alknet's requests.
Existing files of the same name are replaced; others (e.g. reproducers of
fixed bugs, named crash-*) are kept.
"""

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import dnsd  # noqa: E402
import harness  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
TARGETS = ["server", "client", "socks", "dns", "keys", "config", "proxy"]


def save(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read_for(sock, seconds):
    sock.settimeout(0.2)
    got, end = b"", time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            part = sock.recv(65536)
        except socket.timeout:
            continue
        if not part:
            break
        got += part
    return got


def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, s.getsockname()[1]


def capture_ssh_client(wd):
    """What OpenSSH's ssh sends first: identification line and KEXINIT."""
    lst, port = listener()
    p = subprocess.Popen(["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o",
                          "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                          "-p", str(port), "fuzz@127.0.0.1", "true"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn, _ = lst.accept()
    conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n")
    got = read_for(conn, 1.5)
    conn.close()
    p.kill()
    p.wait()
    save("server", "openssh-client-first-flight", b"\xff" + got)
    save("server", "openssh-client-first-flight-split", b"\x02" + got)


def capture_sshd(wd):
    """What OpenSSH's sshd sends first, after our identification line."""
    sshd = harness.Sshd(wd)
    s = socket.create_connection(("127.0.0.1", sshd.port))
    s.sendall(b"SSH-2.0-alknet_0.1.0\r\n")
    got = read_for(s, 1.0)
    s.close()
    save("client", "openssh-sshd-first-flight", b"\xff" + got)


def capture_curl(wd):
    """curl's SOCKS5 greeting and request, for a name, with and without auth."""
    for auth in (False, True):
        lst, port = listener()
        proxy = f"socks5h://{'user:secret@' if auth else ''}127.0.0.1:{port}"
        p = subprocess.Popen(["curl", "-s", "--max-time", "3", "--proxy", proxy,
                              "http://example.com/"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        conn, _ = lst.accept()
        conn.settimeout(3)
        sent = conn.recv(512)  # greeting
        conn.sendall(b"\x05\x02" if auth else b"\x05\x00")
        if auth:
            sent += conn.recv(512)
            conn.sendall(b"\x01\x00")
        sent += conn.recv(512)  # CONNECT
        conn.close()
        p.wait()
        # byte 0: bit 0 = auth required, bits 1-7 = segment size - 1
        save("socks", f"curl-{'auth' if auth else 'noauth'}", bytes([0xff if auth else 0xfe]) + sent)
        save("socks", f"curl-{'auth' if auth else 'noauth'}-bytewise", bytes([1 if auth else 0]) + sent)


def capture_dns(wd):
    """Replies of tests/dnsd.py to A and AAAA queries."""
    zone = ("example.com A 93.184.216.34\nexample.com AAAA 2001:db8::1\n"
            "alias.example CNAME example.com\nmany.example A 192.0.2.1\n"
            "many.example A 192.0.2.2\nmany.example A 192.0.2.3\n")
    port, stop = dnsd.start(zone, log=open(os.devnull, "w"))
    try:
        for name, qtype in [("example.com", 1), ("example.com", 28), ("alias.example", 1),
                            ("many.example", 1), ("nosuch.example", 1)]:
            qid = 0x4242
            q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
            q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
            q += struct.pack(">HH", qtype, 1)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(2)
            s.sendto(q, ("127.0.0.1", port))
            reply = s.recv(4096)
            s.close()
            sel = 1 if qtype == 28 else 0
            save("dns", f"dnsd-{name}-{qtype}", bytes([sel, len(name)]) + name.encode() + reply)
    finally:
        stop()
    with open("/etc/hosts", "rb") as f:
        save("dns", "etc-hosts", b"\xa0" + f.read())
    if os.path.exists("/etc/resolv.conf"):
        with open("/etc/resolv.conf", "rb") as f:
            save("dns", "etc-resolv-conf", b"\xd0" + f.read())


def capture_keys(wd):
    """Files made by ssh-keygen: a private key, a public key line, a hashed
    known_hosts, an authorized_keys with options."""
    k = os.path.join(wd.path, "k")
    harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ssh-keygen", "-f", k])
    with open(k, "rb") as f:
        save("keys", "ssh-keygen-private", b"\x00" + f.read())
    with open(k + ".pub", "rb") as f:
        pub = f.read()
    save("keys", "ssh-keygen-public", b"\x01" + pub)
    kh = os.path.join(wd.path, "kh")
    with open(kh, "wb") as f:
        f.write(b"host.example " + pub + b"[10.0.0.1]:2222 " + pub)
    harness.run(["ssh-keygen", "-H", "-f", kh])
    with open(kh, "rb") as f:
        save("keys", "ssh-keygen-hashed-known-hosts", b"\x02" + f.read())
    enc = os.path.join(wd.path, "enc")
    harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pass", "-f", enc])
    with open(enc, "rb") as f:
        save("keys", "ssh-keygen-private-encrypted", b"\x00" + f.read())
    save("keys", "authorized-keys-options",
         b"\x03from=\"192.0.2.0/24\",permitopen=\"example.com:443\" " + pub +
         b"restrict " + pub + b"no-pty,environment=\"A=b\" " + pub)


# The proxy target's input: a selector byte (bit 0 HTTP, bit 1 credentials
# "user"/"secret", bits 2-7 arrival size - 1), a destination byte, a URL
# length in two bytes (0 here: no URL), then what the proxy sent.
def proxy_seed(name, http, cred, got):
    for chunk, suffix in ((64, ""), (1, "-bytewise")):
        sel = http | cred << 1 | (chunk - 1) << 2
        save("proxy", name + suffix, bytes([sel, 1, 0, 0]) + got)


def capture_proxies(wd):
    """What microsocks and tinyproxy answer to the requests alknet sends:
    a CONNECT that works (and the destination's first bytes right behind
    the reply), one to a closed port, wrong or missing credentials."""
    missing = [b for b in ("microsocks", "tinyproxy") if not shutil.which(b)]
    if missing:
        print(f"proxy: {' and '.join(missing)} not installed, no captured seeds")
        return
    dest, dport = listener()
    closed = harness.free_port()

    def talk(port, sends, connects=False):
        c = socket.create_connection(("127.0.0.1", port), timeout=3)
        got = b""
        for i, b in enumerate(sends):
            c.sendall(b)
            if i + 1 < len(sends):
                got += c.recv(512)
        if connects:
            a, _ = dest.accept()
            a.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            got += read_for(c, 0.5)
            a.close()
        else:
            got += read_for(c, 1.0)
        c.close()
        return got

    def req(port):  # RFC 1928 4: CONNECT 127.0.0.1:port (ATYP 1)
        return b"\x05\x01\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", port)

    hello, auth = b"\x05\x02\x00\x02", b"\x01\x04user\x06secret"
    port = harness.free_port()
    p = harness.Proc(wd, ["microsocks", "-i", "127.0.0.1", "-p", port, "-u", "user",
                          "-P", "secret"], name="microsocks")
    harness.wait_port(port, proc=p)
    proxy_seed("microsocks-connect", 0, 1, talk(port, [hello, auth, req(dport)], True))
    proxy_seed("microsocks-refused", 0, 1, talk(port, [hello, auth, req(closed)]))
    proxy_seed("microsocks-wrong-password", 0, 1,
               talk(port, [hello, b"\x01\x04user\x05wrong"]))
    proxy_seed("microsocks-no-credentials", 0, 0, talk(port, [b"\x05\x01\x00"]))
    p.kill()

    def connect(port):
        return f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()

    for auth_line in ("", "BasicAuth user secret\n"):
        port = harness.free_port()
        conf = wd.file(f"tinyproxy-{port}.conf")
        with open(conf, "w") as f:
            f.write(f"Port {port}\nListen 127.0.0.1\nTimeout 60\nMaxClients 8\n"
                    f"LogFile \"{wd.file(f'tinyproxy-{port}.log')}\"\nAllow 127.0.0.1\n{auth_line}")
        p = harness.Proc(wd, ["tinyproxy", "-d", "-c", conf], name="tinyproxy")
        harness.wait_port(port, proc=p)
        if auth_line:
            proxy_seed("tinyproxy-407", 1, 0, talk(port, [connect(dport)]))
        else:
            proxy_seed("tinyproxy-200", 1, 0, talk(port, [connect(dport)], True))
            proxy_seed("tinyproxy-500", 1, 0, talk(port, [connect(closed)]))
        p.kill()
    dest.close()


STEPS = [("server", capture_ssh_client), ("client", capture_sshd), ("socks", capture_curl),
         ("dns", capture_dns), ("keys", capture_keys), ("proxy", capture_proxies)]


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(harness.ROOT, "build", "fuzz")
    only = sys.argv[2:] or TARGETS + ["tls"]
    for t in TARGETS:
        if t in only:
            os.makedirs(os.path.join(CORPUS, t), exist_ok=True)
            subprocess.run([os.path.join(build, f"seeds_{t}"), os.path.join(CORPUS, t)],
                           check=True)
    with harness.Workdir("corpus") as wd:
        for t, step in STEPS:
            if t in only:
                step(wd)
    # the TLS target's seeds: hellos captured from openssl, curl and BearSSL,
    # kept as bytes in tests/unit_tls.c, which writes them out
    unit_tls = os.path.join(os.path.dirname(build), "unit_tls")
    if "tls" in only and os.path.exists(unit_tls):
        subprocess.run([unit_tls, "--seeds", os.path.join(CORPUS, "tls")], check=True,
                       stdout=subprocess.DEVNULL)
    for t in TARGETS + ["tls"]:
        if t in only:
            print(f"{t}: {len(os.listdir(os.path.join(CORPUS, t)))} seeds")


if __name__ == "__main__":
    main()
