#!/usr/bin/env python3
"""alknet beside OpenSSH, Dropbear, shadowsocks and no tunnel at all: one
command, one table.

    make bench                       (installs dropbear-bin and shadowsocks-libev first)
    python3 bench/run.py [--quick] [--rounds N] [--bytes 512M] [--cases LIST]
                         [--ciphers LIST] [--alknet PATH] ...   (--help for all)

Every case is a SOCKS5 port on 127.0.0.1 in front of a tunnel (bench/peers.py):
OpenSSH `ssh -D` -> sshd and alknet `connect -D` -> `serve` for each cipher,
OpenSSH `ssh -D` -> dropbear, ss-local -> ss-server, and "direct" (no tunnel).
The far end of every stream is one `blast server` (tests/blast.c) on
loopback.  Each round runs every case once, in that order, so that changes
in the machine's load fall on all alike; each case's server starts fresh
every round.  For each case and round:

  1. start-up: --starts times, launch the client and retry one stream
     (SOCKS CONNECT + a 1-byte echo) until it works; the last client stays;
  2. idle session RSS of client and server, after that first stream;
  3. new stream latency: --pings streams one after another, each a new
     SOCKS CONNECT and a 1-byte echo, then closed (the round's median);
  4. idle streams: --streams streams opened (each checked with a 1-byte
     echo) and held; the RSS growth of each side divided by their number,
     and an upload of --busy-bytes beside them; for alknet of the first
     cipher also --many streams, the same way, with new streams timed
     beside them instead of the upload;
  5. throughput: blast upload (U) and download (D) of --bytes through one
     stream, every byte checked; CPU time of the tunnel's processes.
Then the long fat link (bench/lfn.py): OpenSSH, alknet and direct over a
100 ms round trip between two network namespaces (root only).

Nothing here judges: it prints numbers, and n/a with a note where a case
could not run.
"""

import argparse
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
import harness  # noqa: E402
import lfn  # noqa: E402
import peers  # noqa: E402
import probes  # noqa: E402
import report  # noqa: E402

CIPHERS = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
CASES = ["openssh", "alknet", "dropbear", "shadowsocks", "direct", "lfn"]
SETTLE = 0.3  # seconds to let a process finish its allocations before RSS is read
RAMP = 100  # streams set up at once: ssh -D's listen backlog is 128
MANY_RAMP = 400  # alknet's is 512; fewer, fuller poll() passes on both ends
BUSY_PINGS = 20  # new streams timed while --many streams are open

# (default, --quick) for each option that --quick changes
PROFILE = {
    "rounds": (5, 1), "bytes": ("512M", "64M"), "starts": (5, 2), "pings": (200, 50),
    "streams": (1000, 200), "many": (10000, 2000), "lfn_bytes": ("128M", "16M"),
    "busy_bytes": ("32M", "8M"),
}

LEGEND = """\
How to read it:
  Each cell is the median over the rounds and [min–max]; "n/a": the case
  could not run or the step failed (see the notes); empty: not part of
  that group.  alknet÷OpenSSH is the ratio of the two medians, same cipher:
  above 1 means alknet's figure is larger (better for MB/s, worse for
  everything else).  shadowsocks (its own chacha20-ietf-poly1305) and direct
  sit in the first cipher's group; Dropbear offers no AES-GCM.
  upload/download MB/s     one stream, 10^6 bytes per second, every byte
                           checked (blast U and D).
  CPU s/GiB                user + system CPU seconds of the client and the
                           server processes together (sshd and dropbear:
                           the listener and its per-connection children),
                           per GiB moved; from /proc/PID/stat in 10 ms ticks.
                           The blast ends are not counted.
  new stream µs            connect to the SOCKS port, CONNECT, wait for the
                           reply, 1 byte there and back (median of --pings
                           streams in each round).  direct: the same without
                           SOCKS, the floor of this probe.
  start → first stream ms  from launching the client (server running, keys
                           in place) to the first stream's echo; over all
                           launches of all rounds.
  idle session RSS KiB     VmRSS after the first stream, with no stream open;
                           server: all its processes summed (shared pages
                           count in each).
  per idle stream KiB      RSS growth of each side with --streams idle streams
                           open, divided by their number; kernel socket
                           buffers are not in it.
  upload MB/s beside them  one upload of --busy-bytes while those streams
                           are open and idle: what an event loop that
                           looks at every socket on each pass costs.
  long fat link            one stream between two network namespaces with
                           50 ms added each way (tests/netdelay.py), TCP
                           buffers raised to 32 MiB there so that TCP is not
                           the limit; direct shows what the path carries.
  idle RSS of ./alknet     includes the dynamic glibc and libbearssl; for the
                           static build: make static, then --alknet
                           build/x86_64/alknet.
  many streams             alknet only: that many idle streams through one
                           tunnel, up to 400 being set up at a time, each
                           checked.  The time includes the blast server's
                           share (it too poll()s every socket at each pass).
                           New streams beside them: median of 20.
Everything shares one machine: clients, servers and both blast ends compete
for the same cores, so compare columns with each other, not with a real
network."""


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_bytes(text):
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(text[-1:].lower(), 1)
    return int(text[:-1] if mult > 1 else text) * mult


def version(argv):
    try:
        r = subprocess.run(argv, capture_output=True, timeout=10, text=True)
    except (OSError, subprocess.SubprocessError):
        return "not installed"
    lines = [ln.strip() for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    return lines[0] if lines else "?"


def machine_notes():
    with open("/proc/cpuinfo") as f:
        info = f.read()
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                  if ln.startswith("model name")), platform.machine())
    aes = "AES-NI" if " aes " in info else "no AES-NI"
    with open("/proc/sys/net/ipv4/tcp_congestion_control") as f:
        cc = f.read().strip()
    return (f"{model}, {os.cpu_count()} CPUs, {aes}; Linux {platform.release()}; "
            f"TCP {cc}; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def raise_nofile(want):
    """Raises the soft RLIMIT_NOFILE (inherited by every process started
    here) toward `want`; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft = max(soft, min(hard, want))
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


# ---------------------------------------------------------------- one case, one round

class Round:
    """Runs the steps of one case in one round, recording into res under
    (group, column); a failing step leaves a note and the next goes on."""

    def __init__(self, args, res, blast, case, group, rnd):
        self.args, self.res, self.blast, self.case = args, res, blast, case
        self.group, self.col, self.rnd = group, case.kind, rnd
        self.client = None
        self.socks = None
        self.summary = []
        self.many = args.many and self.col == "alknet" and group == args.first
        if self.many:
            res.join("many", self.col)

    def add(self, metric, value, group=None):
        self.res.add(group or self.group, metric, self.col, value)

    def here(self, *metrics):
        """(group, metric) pairs of this case's cipher group; no names: all."""
        return [(self.group, m) for m in metrics or [m for m, _, _ in report.CIPHER_ROWS]]

    def step(self, name, fn, lost):
        """Runs fn; if it fails, notes why and marks the (group, metric)
        pairs `lost` as n/a for this case."""
        try:
            fn()
            return True
        except (harness.Fail, probes.ProbeError, OSError, subprocess.SubprocessError) as e:
            self.res.lose(lost, self.col)
            self.res.note(f"{self.col} ({self.group}), round {self.rnd}, {name}: "
                          f"{report.one_line(e)}")
            return False

    def run(self):
        if isinstance(self.case, peers.Direct):
            self.step("latency", self.latency, self.here("lat"))
            self.step("throughput", self.throughput, self.here("up", "down"))
        elif self.step("server", self.case.start_server, self.here() + self.many_metrics()):
            try:
                if self.step("start-up", self.start_up, self.here() + self.many_metrics()):
                    self.step("idle RSS", self.idle_rss, self.here("rss_c", "rss_s"))
                    self.step("latency", self.latency, self.here("lat"))
                    self.step("idle streams", lambda: self.idle_streams(self.args.streams),
                              self.here("stream_c", "stream_s", "busy_up"))
                    if self.many:
                        self.step("many streams",
                                  lambda: self.idle_streams(self.args.many, "many"),
                                  self.many_metrics())
                    self.step("throughput", self.throughput,
                              self.here("up", "down", "cpu_up", "cpu_down"))
            finally:
                peers.stop_tree(self.client)
                self.case.stop_server()
        say(f"round {self.rnd} {self.col} {self.group}: " + ", ".join(self.summary))

    def many_metrics(self):
        return [("many", m) for m, _, _ in report.MANY_ROWS] if self.many else []

    def client_pids(self):
        return probes.tree(self.client.pid) if self.client else []

    def start_up(self):
        for _ in range(self.args.starts):
            peers.stop_tree(self.client)
            self.client = None
            self.socks = harness.free_port()
            secs, self.client = probes.first_stream(
                lambda: self.case.start_client(self.socks), self.blast.port, self.socks)
            self.add("start", secs * 1000)
        self.summary.append(f"start {secs * 1000:.1f} ms")

    def idle_rss(self):
        time.sleep(SETTLE)
        self.add("rss_c", probes.rss_sum(self.client_pids()))
        self.add("rss_s", probes.rss_sum(self.case.server_pids()))

    def latency(self):
        samples = [probes.echo_once(self.blast.port, self.socks)
                   for _ in range(self.args.pings)]
        self.add("lat", statistics.median(samples) * 1e6)
        self.summary.append(f"stream {statistics.median(samples) * 1e6:.0f} µs")

    def idle_streams(self, n, group=None):
        """Opens n idle streams and holds them while reading the RSS growth
        and what one more stream gets meanwhile: an upload of --busy-bytes
        (the case's own group), or new streams' latency (group "many")."""
        limit = self.case.max_streams
        if limit and not group and n >= limit:
            n = limit - 1  # one more for the upload beside them
            self.res.note(f"{self.col}: {n} idle streams, not {self.args.streams} "
                          f"({self.col} carries at most {limit} per connection)")
        time.sleep(SETTLE)
        c0, s0 = probes.rss_sum(self.client_pids()), probes.rss_sum(self.case.server_pids())
        socks, secs, failed = probes.open_idle_streams(self.blast.port, self.socks, n,
                                                       MANY_RAMP if group else RAMP)
        try:
            if failed:
                self.res.note(f"{self.col} ({self.group}), round {self.rnd}: {len(socks)} of "
                              f"{n} streams opened; "
                              + "; ".join(f"{k} x{v}" for k, v in failed.items()))
            if not socks:
                raise probes.ProbeError("no stream opened")
            time.sleep(SETTLE)
            c1, s1 = probes.rss_sum(self.client_pids()), probes.rss_sum(self.case.server_pids())
            k = len(socks)
            self.add("stream_c", (c1 - c0) / k, group)
            self.add("stream_s", (s1 - s0) / k, group)
            self.summary.append(f"{k} streams +{(c1 - c0) / k:.2f}/+{(s1 - s0) / k:.2f} KiB")
            if group:
                self.add("open", secs, group)
                self.add("rss_c", c1 / 1024, group)
                self.add("rss_s", s1 / 1024, group)
                lat = statistics.median(probes.echo_once(self.blast.port, self.socks)
                                        for _ in range(BUSY_PINGS))
                self.add("lat", lat * 1000, group)
            else:
                rate, _ = self.transfer("U", self.args.busy_nbytes)
                self.add("busy_up", rate)
                self.summary.append(f"beside them up {rate:.0f} MB/s")
        finally:
            probes.close_all(socks)
            self.wait_usable()

    def wait_usable(self, timeout=10.0):
        """Waits until a new stream works again: a tunnel may take a moment
        to close a thousand channels, and the next step must not see it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                probes.echo_once(self.blast.port, self.socks, timeout=timeout)
                return
            except (OSError, probes.ProbeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def transfer(self, mode, nbytes):
        """One blast stream of nbytes, mode U or D, through the tunnel:
        (MB/s, CPU seconds of the tunnel's processes meanwhile)."""
        pids = self.client_pids() + self.case.server_pids()
        before = probes.cpu_snapshot(pids)
        ok, line = harness.blast_client(self.blast.workdir, "127.0.0.1", self.blast.port,
                                        mode, nbytes, socks=self.socks,
                                        timeout=60 + nbytes // (1 << 20))
        if not ok:
            raise harness.Fail(f"blast {mode}: {line}")
        cpu = probes.cpu_seconds_since(before, self.client_pids() + self.case.server_pids())
        return nbytes / max(int(line.split("usec=")[1].split()[0]), 1), cpu

    def throughput(self):
        gib = self.args.nbytes / (1 << 30)
        for mode, metric in (("U", "up"), ("D", "down")):
            rate, cpu = self.transfer(mode, self.args.nbytes)
            self.add(metric, rate)
            if self.client:
                self.add("cpu_" + metric, cpu / gib)
            self.summary.append(f"{metric} {rate:.0f} MB/s")


# ---------------------------------------------------------------- the run

def make_cases(args):
    """The cases in the order each round runs them: [(group, tunnel)]."""
    cases = []
    for cipher in args.ciphers:
        for name, cls in (("openssh", peers.OpenSSH), ("alknet", peers.Alknet),
                          ("dropbear", peers.Dropbear)):
            if name in args.cases and (cls is not peers.Dropbear or
                                       cipher in peers.Dropbear.CIPHERS):
                cases.append((cipher, cls(cipher)))
    for name, cls in (("shadowsocks", peers.Shadowsocks), ("direct", peers.Direct)):
        if name in args.cases:
            cases.append((args.first, cls(args.first)))
    return cases


def options():
    ap = argparse.ArgumentParser(description="alknet beside OpenSSH, Dropbear, shadowsocks "
                                 "and a direct connection: one table.")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run of about a minute: "
                    + ", ".join(f"--{k.replace('_', '-')} {v[1]}" for k, v in PROFILE.items()))
    ap.add_argument("--rounds", type=int, help="rounds (default 5)")
    ap.add_argument("--bytes", help="bytes per transfer, k/M/G suffix (default 512M)")
    ap.add_argument("--cases", default=",".join(CASES),
                    help=f"comma-separated, from {','.join(CASES)} (default all; ss for "
                    "shadowsocks); lfn runs the long fat link with those of openssh, alknet "
                    "and direct chosen, all three if none is")
    ap.add_argument("--ciphers", default=",".join(CIPHERS),
                    help="comma-separated SSH ciphers (default all three)")
    ap.add_argument("--alknet", default=harness.ALKNET,
                    help="alknet binary for both ends (default ./alknet; `make static` "
                    "builds build/x86_64/alknet)")
    ap.add_argument("--starts", type=int, help="client launches per round (default 5)")
    ap.add_argument("--pings", type=int, help="new streams timed per round (default 200)")
    ap.add_argument("--streams", type=int, help="idle streams per case (default 1000)")
    ap.add_argument("--busy-bytes",
                    help="upload beside the idle streams, k/M/G suffix (default 32M)")
    ap.add_argument("--many", type=int,
                    help="idle streams through one alknet tunnel (default 10000; 0: skip)")
    ap.add_argument("--lfn-bytes", help="bytes per transfer on the long fat link (default 128M)")
    ap.add_argument("--lfn-delay", type=int, default=50,
                    help="one-way delay of the long fat link, ms (default 50: 100 ms RTT)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = ap.parse_args()
    if any(v is not None and v < 1 for v in (args.rounds, args.starts, args.pings, args.streams)):
        ap.error("--rounds, --starts, --pings and --streams must be at least 1")
    for key, (full, quick) in PROFILE.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    args.cases = [{"ss": "shadowsocks"}.get(c.strip(), c.strip())
                  for c in args.cases.split(",") if c.strip()]
    args.ciphers = [c.strip() for c in args.ciphers.split(",") if c.strip()]
    bad = [c for c in args.cases if c not in CASES] + [c for c in args.ciphers
                                                       if c not in CIPHERS]
    if bad or not args.ciphers:
        ap.error(f"unknown case or cipher: {', '.join(bad) or '(no cipher)'}")
    args.first = args.ciphers[0]
    args.nbytes, args.lfn_nbytes = parse_bytes(args.bytes), parse_bytes(args.lfn_bytes)
    args.busy_nbytes = parse_bytes(args.busy_bytes)
    return args


def header(args):
    lines = [f"bench: {args.rounds} round(s), {args.bytes} per transfer, {args.starts} "
             f"start(s), {args.pings} pings, {args.streams} idle streams, "
             f"{args.many} for alknet; long fat link {2 * args.lfn_delay} ms RTT, "
             f"{args.lfn_bytes}",
             f"machine: {machine_notes()}",
             f"alknet:      {version([harness.ALKNET, '--version'])} ({harness.ALKNET}; "
             f"tree {version(['git', '-C', harness.ROOT, 'describe', '--always', '--dirty'])})",
             f"OpenSSH:     {version(['ssh', '-V'])}",
             f"Dropbear:    {version(['dropbear', '-V'])}",
             f"shadowsocks: {version(['ss-local', '-h'])}"]
    return "\n".join(lines)


def main():
    args = options()
    harness.ALKNET = os.path.abspath(args.alknet)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    nofile = raise_nofile(max(args.many, args.streams) + 1024)
    harness.ensure_blast()
    res = report.Results()
    if nofile < max(args.many, args.streams) + 256:
        res.note(f"RLIMIT_NOFILE is {nofile}: too low for {max(args.many, args.streams)} "
                 "streams, some will fail")
    top = header(args)
    say(top)
    began = time.monotonic()
    wd = harness.Workdir("bench")
    if os.access(harness.ALKNET, os.X_OK):
        # a copy, so that a rebuild of ./alknet meanwhile changes nothing here
        harness.ALKNET = shutil.copy2(harness.ALKNET, wd.file("alknet"))
    try:
        site = peers.Loopback(wd)
        blast = harness.Blast(wd)
        cases = []
        for group, case in make_cases(args):
            why = case.missing()
            if why is None:
                try:
                    case.prepare(site)
                except (harness.Fail, OSError, subprocess.SubprocessError) as e:
                    why = f"setup failed: {report.one_line(e)}"
            if why:
                res.fail(group, case.kind, why)
                if isinstance(case, peers.Alknet) and group == args.first and args.many:
                    res.fail("many", case.kind)
            else:
                res.join(group, case.kind)
                cases.append((group, case))
        for rnd in range(1, args.rounds + 1):
            for group, case in cases:
                Round(args, res, blast, case, group, rnd).run()
        if "lfn" in args.cases:
            lfn.run(args, res, wd)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        wd.close(keep=args.keep)
    groups = [(c, c, report.CIPHER_ROWS) for c in args.ciphers]
    groups.append(("lfn", f"long fat link, {2 * args.lfn_delay} ms RTT, {args.first}, "
                   f"{args.lfn_bytes}", report.LFN_ROWS))
    groups.append(("many", f"alknet: {args.many:,} idle streams through one tunnel",
                   report.MANY_ROWS))
    heads = {"OpenSSH": peers.OpenSSH.via, "alknet": peers.Alknet.via,
             "Dropbear": peers.Dropbear.via, "shadowsocks": peers.Shadowsocks.via,
             "direct": peers.Direct.via}
    print(top)
    print(f"took {time.monotonic() - began:.0f} s; load now "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print(report.table(res, groups, heads))
    if res.notes:
        print("\nNotes:")
        for n in res.notes:
            print(f"  {n}")
    print()
    print(LEGEND)
    return 0


if __name__ == "__main__":
    sys.exit(main())
