"""What bench/run.py measures through a SOCKS5 port: one stream's set-up
and echo, the time a new client takes to carry its first stream, many idle
streams held open at once, and the CPU time and RSS of process trees.

The far end is always a `blast server` (tests/blast.c) in echo mode: a
stream sends blast's 13-byte header ('E', one byte to come, seed 0) and
one byte, and the byte comes back.  Requests go to an IPv4 address (SOCKS
ATYP 1), so that no name is looked up on the way.  Standard library only.
"""

import os
import selectors
import socket
import struct
import time

import harness

CLK_TCK = os.sysconf("SC_CLK_TCK")
ECHO = b"E" + struct.pack(">QI", 1, 0) + b"x"  # blast header + the one byte to echo


class ProbeError(Exception):
    """A stream that did not open or did not echo, with the reason."""


def socks_reply_size(buf):
    """The length of the method choice plus a whole CONNECT reply at the
    start of buf, or None while incomplete.  The bound address may be of
    any type (RFC 1928 6), so this reads ATYP rather than assuming IPv4."""
    if len(buf) < 7:
        return None
    atyp = buf[5]
    addr = {1: 4, 4: 16}.get(atyp, buf[6] + 1 if atyp == 3 else None)
    if addr is None:
        raise ProbeError(f"SOCKS reply with address type {atyp}")
    size = 2 + 4 + addr + 2
    return size if len(buf) >= size else None


def check_socks_reply(buf):
    if buf[0] != 5 or buf[1] != 0:
        raise ProbeError(f"SOCKS method reply {buf[:2].hex()}")
    if buf[3] != 0:
        raise ProbeError(f"SOCKS CONNECT refused, reply code {buf[3]}")


def echo_once(target_port, socks_port=None, timeout=10.0):
    """One new stream to the echo server on 127.0.0.1:target_port, through
    the SOCKS5 port if given, and one byte there and back, on a blocking
    socket.  Returns the seconds it took, from connect() to the echo."""
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", socks_port or target_port), timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if socks_port:
            s.sendall(harness.socks_request("127.0.0.1", target_port, atyp=1))
            buf = b""
            while socks_reply_size(buf) is None:
                part = s.recv(64)
                if not part:
                    raise ProbeError(f"SOCKS port closed after {len(buf)} reply bytes")
                buf += part
            check_socks_reply(buf)
        s.sendall(ECHO)
        if s.recv(1) != b"x":
            raise ProbeError("no echo")
    return time.perf_counter() - start


def first_stream(start_client, target_port, socks_port, timeout=30.0):
    """Starts a client (start_client() returns its harness.Proc) and retries
    one echo_once through its SOCKS port until it succeeds.  Returns
    (seconds from the start to the echo, the Proc).  Refused connections
    are retried after 1 ms, refused or broken streams after 5 ms."""
    start = time.perf_counter()
    proc = start_client()
    deadline = start + timeout
    while True:
        try:
            echo_once(target_port, socks_port, timeout=max(deadline - time.perf_counter(), 0.1))
            return time.perf_counter() - start, proc
        except ConnectionRefusedError:
            pause = 0.001
        except (OSError, ProbeError):
            pause = 0.005
        if not proc.alive():
            raise ProbeError(f"{proc.name} exited ({proc.returncode}):\n{proc.stderr_tail(5)}")
        if time.perf_counter() > deadline:
            raise ProbeError(f"no stream through {proc.name} after {timeout:.0f} s")
        time.sleep(pause)


def open_idle_streams(target_port, socks_port, n, ramp=100, timeout=120.0):
    """Opens n streams through the SOCKS5 port to the echo server, each
    checked with one echoed byte and then left open and idle.  Non-blocking
    sockets and one selector; at most `ramp` streams are being set up at
    any time (ssh -D's listener has an accept backlog of 128).  Returns
    (open sockets, seconds, reasons): a stream that fails is closed and its
    reason counted, so the caller learns how many of n opened."""
    sel = selectors.DefaultSelector()
    request = harness.socks_request("127.0.0.1", target_port, atyp=1)
    done, reasons = [], {}
    started = 0
    start = time.perf_counter()

    def launch():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", socks_port))
        sel.register(s, selectors.EVENT_WRITE, {"step": "connect", "buf": b""})

    def fail(s, why):
        sel.unregister(s)
        s.close()
        reasons[why] = reasons.get(why, 0) + 1

    while len(done) + sum(reasons.values()) < n:
        while started < n and len(sel.get_map()) < ramp:
            launch()
            started += 1
        left = start + timeout - time.perf_counter()
        if left <= 0:
            for key in list(sel.get_map().values()):
                fail(key.fileobj, "timed out")
            break
        for key, _ in sel.select(min(left, 1.0)):
            s, st = key.fileobj, key.data
            try:
                if st["step"] == "connect":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        fail(s, os.strerror(err))
                        continue
                    s.send(request)
                    st["step"] = "reply"
                    sel.modify(s, selectors.EVENT_READ, st)
                    continue
                part = s.recv(64)
                if not part:
                    fail(s, f"closed while waiting for the {st['step']}")
                    continue
                st["buf"] += part
                if st["step"] == "reply":
                    if socks_reply_size(st["buf"]) is None:
                        continue
                    check_socks_reply(st["buf"])
                    s.send(ECHO)
                    st["step"], st["buf"] = "echo", b""
                elif st["buf"] == b"x":
                    sel.unregister(s)
                    done.append(s)
            except ProbeError as e:
                fail(s, str(e))
            except OSError as e:
                fail(s, e.strerror or str(e))
    sel.close()
    return done, time.perf_counter() - start, reasons


def close_all(socks):
    for s in socks:
        s.close()


# ---------------------------------------------------------------- process trees

def tree(pid):
    """pid and every process below it (sshd's and dropbear's per-connection
    children, which count as the server's)."""
    return [pid] + harness.descendants(pid)


def cpu_snapshot(pids):
    """{pid: utime + stime in clock ticks} of those still running."""
    snap = {}
    for pid in pids:
        try:
            snap[pid] = harness.cpu_ticks(pid)
        except (OSError, IndexError, ValueError):
            pass
    return snap


def cpu_seconds_since(before, pids):
    """CPU seconds the processes used since the snapshot `before` (a process
    that started since counts whole; one that ended is lost)."""
    after = cpu_snapshot(pids)
    return sum(t - before.get(pid, 0) for pid, t in after.items()) / CLK_TCK


def rss_sum(pids):
    """Sum of VmRSS (KiB) over the processes still running (pages shared
    between them, such as libraries, count once per process)."""
    total = 0
    for pid in pids:
        try:
            total += max(harness.rss_kib(pid), 0)
        except OSError:
            pass
    return total
