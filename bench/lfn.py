"""The long fat link of bench/run.py: one stream over a slow round trip.

The server side (sshd or alknet serve, and the blast server) runs in
namespace a of a tests/netns.py NetPair, the client side (ssh -D or alknet
connect, and the blast client) in namespace b; pair.impair() makes
tests/netdelay.py hold every packet crossing the veth for --lfn-delay ms
in each direction (this kernel has no sch_netem).  Both namespaces get TCP
buffers of up to 32 MiB (net.ipv4.tcp_wmem/tcp_rmem are per namespace; a
new one starts with a 4 MiB send buffer, too small for 100 ms at speed),
and segmentation offload is turned back on, so that tests/netdelay.py
(Python) holds 64 KiB segments rather than 1500-byte packets and carries
well over 100 MB/s.  What limits a tunnel is then the tunnel: its SSH
windows and buffers.  "direct" is blast alone over the same path: what the
path carries in a transfer of that size (slow start included).  Needs
root; without it the group says why.
"""

import sys

import harness
import netns
import peers
import report

BUFFERS = ["net.ipv4.tcp_wmem=4096 16384 33554432", "net.ipv4.tcp_rmem=4096 131072 33554432"]
WARM_UP = 64 << 10


class Namespaces:
    """A site (see peers.Loopback) across a NetPair: the server side in
    namespace a, listening on its veth address; the client side in b."""

    def __init__(self, pair):
        self.pair = pair
        self.workdir = pair.workdir
        self.addr = pair.a_addr

    def ns(self, side):
        return self.pair.a if side == "server" else self.pair.b

    def proc(self, side, argv, name):
        return self.pair.proc(self.ns(side), argv, name=name)

    def wait(self, side, port, proc, timeout=10.0):
        self.pair.wait_port(self.ns(side), self.addr if side == "server" else "127.0.0.1",
                            port, timeout, proc)


def run(args, res, wd):
    """Runs the long-fat-link rounds, recording into res under group "lfn"."""
    kinds = (("openssh", peers.OpenSSH), ("alknet", peers.Alknet), ("direct", peers.Direct))
    wanted = [(name, cls) for name, cls in kinds if name in args.cases] or kinds
    try:
        pair = netns.NetPair(wd)
    except harness.Skip as e:
        for _, cls in wanted:
            res.fail("lfn", cls.kind)
        res.note(f"long fat link skipped: {e}")
        return
    for ns in (pair.a, pair.b):
        pair.run(ns, ["sysctl", "-q", "-w", *BUFFERS])
        # segmentation offload back on (NetPair turns it off so that loss
        # acts per packet): the delayer then holds 64 KiB at a time, not
        # 1500 bytes, and stops being the path's limit
        pair.run(ns, ["ip", "link", "set", pair.ifname, "gso_max_segs", "65535"])
    site = Namespaces(pair)
    cases = []
    for _, cls in wanted:
        case = cls(args.first)
        why = case.missing()
        if why:
            res.fail("lfn", case.kind, why)
            continue
        case.prepare(site)
        res.join("lfn", case.kind)
        cases.append(case)
    blast_port, _ = pair.blast(pair.a)
    pair.impair(args.lfn_delay)
    try:
        for rnd in range(1, args.rounds + 1):
            for case in cases:
                got = one_round(pair, site, case, blast_port, args.lfn_nbytes, res)
                print(f"round {rnd} {case.kind} long fat link: {got}", file=sys.stderr,
                      flush=True)
    finally:
        pair.unimpair()


def one_round(pair, site, case, blast_port, nbytes, res):
    """Upload and download through a fresh server and client; returns a
    summary for the progress line."""
    client = None
    socks = None
    try:
        if not isinstance(case, peers.Direct):
            case.start_server()
            socks = harness.free_port()
            client = case.start_client(socks)
            site.wait("client", socks, client, timeout=30)
        summary = []
        for mode, metric in (("E", None), ("U", "up"), ("D", "down")):
            n = WARM_UP if mode == "E" else nbytes
            ok, line = pair.blast_client(pair.b, pair.a_addr, blast_port, mode, n,
                                         socks=f"127.0.0.1:{socks}" if socks else None,
                                         timeout=60 + n // (1 << 20))
            pair.check_delayers()
            if not ok:
                raise harness.Fail(f"blast {mode}: {line}")
            if metric:
                rate = n / max(int(line.split("usec=")[1].split()[0]), 1)
                res.add("lfn", metric, case.kind, rate)
                summary.append(f"{metric} {rate:.1f} MB/s")
        return ", ".join(summary)
    except harness.Fail as e:
        res.lose([("lfn", "up"), ("lfn", "down")], case.kind)
        res.note(f"{case.kind} (long fat link): {report.one_line(e)}")
        return "failed"
    finally:
        peers.stop_tree(client)
        case.stop_server()
