"""Tests of the network-namespace fixture (tests/netns.py) and its packet
delayer (tests/netdelay.py); none of them needs alknet.  They skip where
namespaces cannot be made (not root, no iptables)."""

import hashlib
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

import harness
from harness import check

import netns


class Echo:
    """A TCP echo server run by a thread of this process, listening inside
    a namespace; .port, and .got (bytes received, all connections)."""

    def __init__(self, pair, ns, addr):
        self.sock = pair.listen(ns, addr)
        self.port = self.sock.getsockname()[1]
        self.got = b""
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn):
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                self.got += data
                conn.sendall(data)
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        part = sock.recv(n - len(data))
        if not part:
            raise harness.Fail(f"connection closed after {len(data)} of {n} bytes")
        data += part
    return data


def test_pair_setup_and_prefix(t):
    pair = netns.NetPair(t.workdir)
    for addr in (pair.a_addr, pair.b_addr):
        check(addr.startswith("198.18."), f"address outside 198.18.0.0/15: {addr}")
    check(set(netns.namespaces()) >= {pair.a, pair.b}, f"namespaces: {netns.namespaces()}")
    # the two ends see each other over the veth, and nothing else
    out = pair.run(pair.b, ["ip", "-4", "-o", "addr", "show"])
    check(f"{pair.b_addr}/24" in out and "127.0.0.1/8" in out, f"addresses in b:\n{out}")
    check(pair.run(pair.a, ["ip", "route", "show", "default"]).strip() == "",
          "namespace a has a default route")
    # a Proc through prefix() is the command itself, inside the namespace
    sleeper = t.proc(pair.prefix(pair.a) + [sys.executable, "-c", "import time; time.sleep(60)"],
                     name="sleeper")
    time.sleep(0.3)
    with open(f"/proc/{sleeper.pid}/cmdline", "rb") as f:
        argv0 = f.read().split(b"\0")[0].decode()
    check(argv0 == sys.executable, f"Proc's pid runs {argv0!r}, not the command")
    check(os.stat(f"/proc/{sleeper.pid}/ns/net").st_ino ==
          os.stat(f"/run/netns/{pair.a}").st_ino, "the command is not in namespace a")
    check(sleeper.pid in netns.ns_pids(pair.a), "ip netns pids does not list it")
    sleeper.kill()
    check(not sleeper.alive() and sleeper.pid not in netns.ns_pids(pair.a), "kill")
    # TCP from b to a: in-process sockets, then blast (a C program) in both
    echo = Echo(pair, pair.a, pair.a_addr)
    pair.wait_port(pair.b, pair.a_addr, echo.port)
    with pair.connect(pair.b, pair.a_addr, echo.port) as s:
        s.sendall(b"hello")
        check(recv_exactly(s, 5) == b"hello", "echo")
        check(s.getpeername()[0] == pair.a_addr and s.getsockname()[0] == pair.b_addr,
              f"addresses {s.getsockname()} -> {s.getpeername()}")
    # the namespace is not the host: a's address is not reachable from here
    with socket.socket() as s:
        s.settimeout(0.5)
        check(s.connect_ex((pair.a_addr, echo.port)) != 0, "a's listener reachable from host")
    port, _ = pair.blast(pair.a)
    ok, line = pair.blast_client(pair.b, pair.a_addr, port, "E", "8M", timeout=30)
    check(ok, f"blast E 8M b->a: {line}")


def test_cut_is_silent_and_heals(t):
    pair = netns.NetPair(t.workdir)
    echo = Echo(pair, pair.a, pair.a_addr)
    # b's loopback must keep working through a cut (a SOCKS listener, say)
    local = Echo(pair, pair.b, "127.0.0.1")
    s = pair.connect(pair.b, pair.a_addr, echo.port)
    s.sendall(b"before")
    check(recv_exactly(s, 6) == b"before", "echo before the cut")
    pair.cut()
    start = time.monotonic()
    s.sendall(b"during")  # accepted locally: no error either
    s.settimeout(2.0)
    try:
        got = s.recv(100)
        raise harness.Fail(f"recv during the cut returned {got!r} (b'' = FIN) instead of "
                           "timing out")
    except socket.timeout:
        pass  # silence: what we want
    except ConnectionError as e:
        raise harness.Fail(f"recv during the cut failed instead of timing out: {e!r}")
    waited = time.monotonic() - start
    check(waited >= 1.9, f"recv gave up after {waited:.2f}s")
    check(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "a socket error was queued")
    check(echo.got == b"before", f"a received {echo.got!r} through the cut")
    # a new connection: its SYN vanishes (timeout), nothing refuses it
    try:
        pair.connect(pair.b, pair.a_addr, echo.port, timeout=1.0).close()
        raise harness.Fail("connected through the cut")
    except socket.timeout:
        pass
    except OSError as e:
        raise harness.Fail(f"connect during the cut failed instead of timing out: {e!r}")
    with pair.connect(pair.b, "127.0.0.1", local.port) as ls:
        ls.sendall(b"lo")
        check(recv_exactly(ls, 2) == b"lo", "loopback in b during the cut")
    pair.heal()
    # TCP retransmits on its own schedule (RTO backoff): the data arrives
    s.settimeout(10.0)
    check(recv_exactly(s, 6) == b"during", "echo after heal")
    s.sendall(b"after")
    check(recv_exactly(s, 5) == b"after", "echo after heal, new data")
    s.close()
    with pair.connect(pair.b, pair.a_addr, echo.port) as s2:
        s2.sendall(b"new")
        check(recv_exactly(s2, 3) == b"new", "new connection after heal")
    echo.close()
    local.close()


def rtt_samples(pair, port, n):
    """Times of n one-byte request/response exchanges, seconds."""
    times = []
    with pair.connect(pair.b, pair.a_addr, port, timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(n):
            start = time.monotonic()
            s.sendall(b"x")
            recv_exactly(s, 1)
            times.append(time.monotonic() - start)
    return times


def bbr_or_default(sock):
    """BBR for this socket where the kernel has it (as root any available
    algorithm may be set): loss-based CUBIC moves only ~180 KB/s through 1%
    loss at 100 ms RTT, which would make this test slow."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"bbr")
        return True
    except OSError:
        return False


@harness.timeout(90)
def test_impair_delay_and_loss(t):
    pair = netns.NetPair(t.workdir)
    echo = Echo(pair, pair.a, pair.a_addr)
    base = statistics.median(rtt_samples(pair, echo.port, 10))
    pair.impair(50, 1)
    samples = rtt_samples(pair, echo.port, 20)
    rtt = statistics.median(samples)
    print(f"RTT {base * 1000:.2f} ms, impaired {rtt * 1000:.1f} ms (min "
          f"{min(samples) * 1000:.1f}, max {max(samples) * 1000:.1f})")
    check(0.095 <= rtt <= 0.150, f"impair(50, 1): median RTT {rtt * 1000:.1f} ms, "
          "want ~100 ms")
    check(min(samples) >= 0.099, f"an exchange took {min(samples) * 1000:.1f} ms < 100 ms")

    # 8 MiB a -> b through delay and loss, byte-exact
    listener = pair.listen(pair.a, pair.a_addr)
    port = listener.getsockname()[1]
    data = os.urandom(8 << 20)
    sent = []

    def send():
        conn, _ = listener.accept()
        with conn:
            bbr_or_default(conn)
            conn.sendall(data)
            sent.append(True)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    start = time.monotonic()
    got = bytearray()
    with pair.connect(pair.b, pair.a_addr, port, timeout=60) as s:
        while True:
            part = s.recv(1 << 20)
            if not part:
                break
            got += part
    took = time.monotonic() - start
    sender.join(5)
    listener.close()
    print(f"8 MiB through impair(50, 1): {took:.2f} s, {len(data) / took / 1e6:.1f} MB/s")
    check(sent and len(got) == len(data), f"received {len(got)} of {len(data)} bytes")
    check(hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), "data differs")
    lost = {ns: pair.queue_stats(ns) for ns in (pair.a, pair.b)}
    for ns, stats in lost.items():
        check(stats.get("queue_dropped") == 0 and stats.get("user_dropped") == 0,
              f"delay queue overflowed in {ns}: {stats}")
    pair.unimpair()
    for report in pair.delayer_reports:
        print(report)
    after = statistics.median(rtt_samples(pair, echo.port, 5))
    check(after < 0.02, f"RTT after unimpair {after * 1000:.1f} ms")
    echo.close()


def test_cleanup_leaves_nothing(t):
    inner = harness.Workdir("netns-inner")
    try:
        pair = netns.NetPair(inner)
        names = (pair.a, pair.b)
        # a process that only the namespace cleanup knows about
        stray = subprocess.Popen(pair.prefix(pair.b) + ["sleep", "60"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pair.impair(10, 0)
        delayers = list(pair._delayers)
        pair.cut()
    finally:
        inner.close()
    check(stray.wait(5) is not None, "a process in the namespace survived")
    check(all(not p.alive() for p in delayers), "a delayer survived")
    left = [n for n in netns.namespaces() if n in names]
    check(not left, f"namespaces left: {left}")
    check(not os.path.exists(inner.path), "workdir not removed")
    # cleanup_stale: a namespace of a dead run goes, one of a live run stays
    dead = f"alk-a-{2 ** 22 + 1}-1"  # above any pid_max: never alive
    live = f"alk-b-{os.getpid()}-999"
    try:
        for ns in (dead, live):
            harness.run(["ip", "netns", "add", ns])
        removed = netns.cleanup_stale()
        check(dead in removed and dead not in netns.namespaces(), f"removed {removed}")
        check(live in netns.namespaces(), "cleanup_stale removed a live run's namespace")
    finally:
        for ns in (dead, live):
            subprocess.run(["ip", "netns", "delete", ns], stderr=subprocess.DEVNULL)
