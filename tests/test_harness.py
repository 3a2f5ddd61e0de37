"""Tests of the test harness itself, against real peers (blast, OpenSSH,
curl); none of them needs alknet."""

import os
import shutil
import socket
import struct
import subprocess
import threading

import harness
from harness import check


def splitmix_stream(seed, n):
    """The blast data stream, computed independently of blast.c."""
    mask = (1 << 64) - 1
    state, out = seed, bytearray()
    while len(out) < n:
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out += struct.pack("<Q", z ^ (z >> 31))
    return bytes(out[:n])


def header(mode, n, seed):
    return mode + struct.pack(">QI", n, seed)


def recv_all(sock):
    data = b""
    while True:
        part = sock.recv(65536)
        if not part:
            return data
        data += part


def ssh_socks(t, **sshd_options):
    """sshd + `ssh -N -D`; returns the SOCKS port."""
    sshd = t.sshd(**sshd_options)
    key = sshd.new_client_key()
    port = harness.free_port()
    ssh = t.proc(sshd.ssh_argv(key, "-N", "-D", f"127.0.0.1:{port}"), name="ssh")
    harness.wait_port(port, proc=ssh)
    return port


def test_blast_direct_modes(t):
    blast = t.blast()
    for mode, size in [("E", "1M"), ("E", 0), ("E", 1), ("U", "4M"), ("U", 0),
                       ("D", "4M"), ("D", 0), ("D", 32769)]:
        ok, line = blast.client(mode, size, timeout=20)
        check(ok, f"{mode} {size}: {line}")
        check(line.startswith("ok streams=1 bytes="), line)


def test_blast_100_streams_and_halfclose(t):
    blast = t.blast()
    for mode, size, halfclose in [("E", "64k", False), ("U", "16k", False),
                                  ("D", "16k", False), ("E", "1M", True), ("D", 100, True)]:
        ok, line = blast.client(mode, size, streams=100, halfclose=halfclose, timeout=30)
        check(ok, f"{mode} {size} halfclose={halfclose}: {line}")


def test_blast_stream_is_splitmix64(t):
    blast = t.blast()
    with socket.create_connection(("127.0.0.1", blast.port), timeout=10) as s:
        s.sendall(header(b"D", 1001, 7))
        got = recv_all(s)
    check(got == splitmix_stream(7, 1001), "download is not the documented stream")
    # an upload with one wrong byte is reported as 'X' with the full count
    data = bytearray(splitmix_stream(9, 5000))
    data[4321] ^= 1
    with socket.create_connection(("127.0.0.1", blast.port), timeout=10) as s:
        s.sendall(header(b"U", 5000, 9) + data)
        reply = recv_all(s)
    check(reply == b"X" + struct.pack(">Q", 5000), f"upload status {reply!r}")
    # half-close by hand: echo still arrives after our EOF
    with socket.create_connection(("127.0.0.1", blast.port), timeout=10) as s:
        s.sendall(header(b"E", 3, 0) + b"abc")
        s.shutdown(socket.SHUT_WR)
        check(recv_all(s) == b"abc", "echo after half-close")


def test_blast_client_reports_first_bad_offset(t):
    """An echo peer that flips byte 777: the client must name that offset."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def corrupting_echo():
        conn, _ = listener.accept()
        with conn:
            data = b""
            while len(data) < 13 + 4096:
                part = conn.recv(65536)
                if not part:
                    break
                data += part
            body = bytearray(data[13:])
            body[777] ^= 0x40
            conn.sendall(bytes(body))

    th = threading.Thread(target=corrupting_echo, daemon=True)
    th.start()
    try:
        ok, line = t.blast_client("127.0.0.1", port, "E", "4k", timeout=10)
    finally:
        listener.close()
    check(not ok, f"corruption not detected: {line}")
    check("offset=777 reason=data-mismatch" in line, line)


def test_blast_socks_replies_from_microsocks(t):
    """blast's SOCKS side against a real SOCKS5 server with RFC 1929 auth.
    (microsocks closes both ways on EOF and reads one message per recv,
    so half-close and --pipeline are not tried here.)"""
    if shutil.which("microsocks") is None:
        raise harness.Skip("microsocks not installed (apt-get install microsocks)")
    blast = t.blast()
    port = harness.free_port()
    ms = t.proc(["microsocks", "-i", "127.0.0.1", "-p", port, "-u", "alice", "-P", "s3cret"])
    harness.wait_port(port, proc=ms)
    ok, line = blast.client("E", "256k", streams=10, socks=port, socks_user="alice:s3cret",
                            timeout=30)
    check(ok, line)
    # a domain-name request (ATYP 3); a name that can only mean 127.0.0.1,
    # since microsocks tries just the first address "localhost" resolves to
    ok, line = blast.client("D", "64k", socks=port, socks_user="alice:s3cret",
                            socks_name="127.0.0.1", timeout=30)
    check(ok, line)
    ok, line = blast.client("E", "1k", socks=port, socks_user="alice:wrong", timeout=10)
    check(not ok and "reason=socks-auth-refused" in line, line)
    ok, line = blast.client("E", "1k", socks=port, timeout=10)
    check(not ok and "reason=socks-method-0xff" in line, line)
    ok, line = t.blast_client("127.0.0.1", harness.free_port(), "E", "1k", socks=port,
                              socks_user="alice:s3cret", timeout=10)
    check(not ok and "socks-reply=5" in line, f"refused port: {line}")


def test_sshd_fixture_keys(t):
    sshd = t.sshd()
    good = sshd.new_client_key("good")
    stranger = t.keygen("stranger")
    r = subprocess.run(sshd.ssh_argv(good, "echo", "hello"), capture_output=True, timeout=30)
    check(r.returncode == 0 and r.stdout == b"hello\n", f"authorized key: {r}")
    r = subprocess.run(sshd.ssh_argv(stranger, "true"), capture_output=True, timeout=30)
    check(r.returncode == 255 and b"Permission denied" in r.stderr, f"unknown key: {r}")
    check(sshd.host_fingerprint.startswith("SHA256:"), sshd.host_fingerprint)
    check(harness.fingerprint(sshd.host_key + ".pub") == sshd.host_fingerprint, "fingerprint")


def test_ssh_socks_curl_by_name(t):
    big = os.urandom(3 * 1024 * 1024 + 17)
    http = t.http({"/big.bin": big, "/hello.txt": b"hello\n"})
    socks = ssh_socks(t)
    for path, want in [("/hello.txt", b"hello\n"), ("/big.bin", big)]:
        out = t.path("curl" + path.replace("/", "-"))
        r = subprocess.run(["curl", "-sS", "--fail", "--max-time", "30",
                            "--socks5-hostname", f"127.0.0.1:{socks}",
                            "-o", out, http.url(path, host="localhost")],
                           capture_output=True, timeout=60)
        check(r.returncode == 0, f"curl {path}: {r.stderr.decode()}")
        with open(out, "rb") as f:
            check(f.read() == want, f"{path} differs")


def test_ssh_socks_blast(t):
    blast = t.blast()
    socks = ssh_socks(t)
    ok, line = blast.client("E", "64M", socks=socks, timeout=90)
    check(ok, f"E 64M: {line}")
    ok, line = blast.client("E", "256k", streams=20, halfclose=True, socks=socks, timeout=30)
    check(ok, f"half-close: {line}")
    ok, line = blast.client("D", "1M", socks=socks, socks_name="localhost", pipeline=True,
                            timeout=30)
    check(ok, f"by name, pipelined: {line}")
    ok, line = blast.client("E", "1k", streams=1000, ramp=100, socks=socks, timeout=60)
    check(ok, f"1000 streams: {line}")


def test_socks_raw_against_ssh(t):
    socks = ssh_socks(t)
    got, closed = harness.socks_raw(socks, b"\x05\x01\x00", read_until_close=False, timeout=5)
    check(got == b"\x05\x00" and not closed, f"greeting: {got!r} closed={closed}")
    got, closed = harness.socks_raw(socks, [b"\x05\x01", b"\x00"], read_until_close=False,
                                    timeout=5)
    check(got == b"\x05\x00", f"split greeting: {got!r}")
    got, closed = harness.socks_raw(socks, b"\x06\x01\x00", timeout=5)
    check(closed and got == b"", f"bad version: {got!r} closed={closed}")
