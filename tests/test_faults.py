"""Faults on a real network path: alknet serve in one network namespace,
alknet connect in another, joined by a veth pair (tests/netns.py); the path
goes silent (every packet dropped, no RST, no ICMP) or slow and lossy
(delay and loss in the kernel, each way).  Skipped with the reason where the
kernel refuses namespaces; CI runs them as root."""

import calendar
import os
import re
import time

import harness
import netns
from harness import check

KEEPALIVE = ("--keepalive", "2", "--keepalive-count", "2")  # dead after (2 + 1) x 2 s
BOUND = 6.0


class Tunnel:
    """alknet serve in pair.a on a_addr:2222 with a blast server beside it,
    alknet connect in pair.b with its SOCKS port on 127.0.0.1:1080 there."""

    def __init__(self, t, pair, *extra):
        self.pair = pair
        srv = t.server(start=False)
        self.key = srv.new_client_key()
        self.srv = srv
        self.server_argv = [harness.ALKNET, "serve", "-l", f"{pair.a_addr}:2222",
                            "-k", srv.host_key, "-a", srv.authorized_keys,
                            "--allow", "198.18.0.0/15", *extra]
        self.start_server()
        with open(srv.host_key + ".pub") as f:
            srv.host_pub_line = f.read().strip()
        known = t.path("known_hosts")
        with open(known, "w") as f:
            f.write(srv.known_hosts_line(pair.a_addr, 2222) + "\n")
        self.blast_port, _ = pair.blast(pair.a)
        self.client = pair.proc(pair.b, [harness.ALKNET, "connect", f"alknet@{pair.a_addr}",
                                         "-p", "2222", "-i", self.key, "--known-hosts", known,
                                         "-D", "127.0.0.1:1080", *extra], name="alknet")
        self.client.wait_for("authenticated as", timeout=20)

    def start_server(self):
        self.server = self.pair.proc(self.pair.a, self.server_argv, name="serve")
        self.pair.wait_port(self.pair.a, self.pair.a_addr, 2222, proc=self.server)

    def blast(self, mode, nbytes, timeout=60):
        return self.pair.blast_client(self.pair.b, self.pair.a_addr, self.blast_port, mode,
                                      nbytes, socks="127.0.0.1:1080", timeout=timeout)

    def blast_bg(self, mode, nbytes, timeout=120):
        return self.pair.proc(self.pair.b, [harness.ensure_blast(), "client", self.pair.a_addr,
                                            self.blast_port, mode, nbytes, "--socks",
                                            "127.0.0.1:1080", "--timeout", timeout],
                              name="long")


def wait_log(proc, text, since, timeout):
    """Waits for `text` in proc's log after offset `since`; returns the wall
    clock time its log line carries (alknet logs in UTC)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        log = proc.stderr_text()[since:]
        m = re.search(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) .*" + re.escape(text), log,
                      re.M)
        if m:
            return calendar.timegm(time.strptime(m.group(1)[:19], "%Y-%m-%d %H:%M:%S")) + \
                float(m.group(1)[19:])
        check(proc.alive(), f"{proc.name} exited:\n{proc.stderr_tail()}")
        time.sleep(0.05)
    raise harness.Fail(f"{proc.name} did not log {text!r} within {timeout} s:\n"
                       f"{proc.stderr_tail()}")


@harness.timeout(180)
def test_silent_path_is_noticed_and_survived(t):
    """Every packet between the two hosts dropped while a stream runs: both
    ends notice within (keepalive-count + 1) x keepalive (6 s here), the
    client reconnects by itself once the path is back, and the tunnel
    carries data again."""
    pair = netns.NetPair(t.workdir)
    tun = Tunnel(t, pair, *KEEPALIVE)
    ok, line = tun.blast("E", "4M")
    check(ok, f"before the cut: {line}")
    running = tun.blast_bg("E", "4G", timeout=90)
    time.sleep(1.0)
    c0, s0 = len(tun.client.stderr_text()), len(tun.server.stderr_text())
    pair.cut()
    cut_at = time.time()
    took_c = wait_log(tun.client, "keepalives unanswered", c0, 30) - cut_at
    took_s = wait_log(tun.server, "keepalives unanswered", s0, 30) - cut_at
    print(f"silent path noticed by the client after {took_c:.1f} s, by the server after "
          f"{took_s:.1f} s (bound {BOUND:.0f} s after the last byte received)")
    check(took_c <= BOUND + 1.5 and took_s <= BOUND + 1.5,
          f"noticed after {took_c:.1f} s (client) and {took_s:.1f} s (server)")
    check(running.wait(30) == 1, "the stream cut off should fail: " + running.stdout_text())
    wait_log(tun.client, "reconnecting to", c0, 10)
    pair.heal()
    healed = time.time()
    back = wait_log(tun.client, "reconnected to", c0, 60)
    print(f"reconnected {back - healed:.1f} s after the path came back")
    ok, line = tun.blast("E", "4M")
    check(ok, f"after the path came back: {line}")


@harness.timeout(400)
def test_slow_lossy_path(t):
    """100 ms round trip with 1% loss each way between client and server: a
    64 MiB download and an 8 MiB echo complete byte-exact."""
    pair = netns.NetPair(t.workdir)
    tun = Tunnel(t, pair)
    pair.impair(50, 1)
    start = time.monotonic()
    ok, line = tun.blast("D", harness.size("64M"), timeout=300)
    took = time.monotonic() - start
    check(ok, f"64 MiB over 100 ms RTT and 1% loss: {line}")
    ok2, line2 = tun.blast("E", harness.size("8M"), timeout=200)
    check(ok2, f"8 MiB echo over the same path: {line2}")
    print(f"64 MiB download over 100 ms RTT, 1% loss each way: {took:.1f} s "
          f"({harness.size('64M') / took / 1e6:.2f} MB/s); queue stats {pair.queue_stats(pair.b)}")
    pair.unimpair()


@harness.timeout(300)
def test_long_fat_path_grows_windows(t):
    """100 ms round trip, no loss: a stream's window grows past its first
    2 MiB (which would hold it near 20 MB/s) on whichever end receives, and
    the data stays byte-exact both ways."""
    pair = netns.NetPair(t.workdir)
    tun = Tunnel(t, pair, "-v")
    pair.impair(50, 0)
    c0, s0 = len(tun.client.stderr_text()), len(tun.server.stderr_text())
    ok, line = tun.blast("D", harness.size("48M"), timeout=200)
    check(ok, f"48 MiB down over 100 ms RTT: {line}")
    ok, line = tun.blast("U", harness.size("48M"), timeout=200)
    check(ok, f"48 MiB up over 100 ms RTT: {line}")
    if "valgrind" in harness.ALKNET:
        # a few MB/s under valgrind never fill even the first window
        print("under valgrind: byte-exact both ways; window growth not expected")
        return
    grown = {}
    for name, proc, since in (("client", tun.client, c0), ("server", tun.server, s0)):
        sizes = [int(k) for k in re.findall(r": window (\d+) KiB \(round trip \d+ ms\)",
                                            proc.stderr_text()[since:])]
        check(sizes and max(sizes) >= 4096, f"the {name} never grew a window: {sizes}\n"
              + proc.stderr_tail())
        grown[name] = max(sizes)
    print(f"windows grew to {grown['client']} KiB (client, receiving the download) and "
          f"{grown['server']} KiB (server, receiving the upload)")
    pair.unimpair()
