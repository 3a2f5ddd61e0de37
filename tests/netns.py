"""Two network namespaces joined by a veth pair, and real faults between them.

    pair = netns.NetPair(t.workdir)          # raises harness.Skip if it cannot
    server = harness.Proc(t.workdir, pair.prefix(pair.a) + [ALKNET, "serve",
                          "-l", f"{pair.a_addr}:2222", ...], name="serve")
    pair.wait_port(pair.a, pair.a_addr, 2222, proc=server)
    pair.impair(50, 1)                       # +50 ms and 1% loss each way
    pair.cut()                               # silent: every packet vanishes
    pair.heal()
    pair.unimpair()

Namespace "a" (pair.a, address pair.a_addr) and namespace "b" (pair.b,
pair.b_addr) each have loopback up and one end of a veth pair, interface
IFNAME in both, MTU 1500, addresses 198.18.N.1/24 and 198.18.N.2/24 from
the benchmarking range 198.18.0.0/15 (RFC 2544; no other range is used).
Neither namespace has a default route, so nothing sent in them can leave
the machine.  Segmentation offload is turned off on the veth
(gso_max_segs 1): every packet that crosses it is one MTU-sized packet, so
loss and delay act per packet as on a real path.

Faults are iptables rules on the INPUT chain of both namespaces, matching
only packets that arrive over the veth (-i IFNAME), so each namespace's own
loopback keeps working (a SOCKS listener on 127.0.0.1 in b, say):

- cut(): DROP.  Dropping where packets arrive rather than where they leave
  is what makes the cut silent: a DROP in OUTPUT is reported to the
  sender's own stack (sendto() gets EPERM; TCP sees its transmissions fail
  locally), while a DROP in INPUT looks to both ends like a path where
  packets vanish.  No RST, no ICMP, no local error; ARP still works, as
  when a path fails beyond the first hop.  Packets already in an impair()
  delay are still delivered.
- impair(delay_ms, loss_pct): a `statistic --mode random` DROP (loss),
  then an NFQUEUE rule whose queue tests/netdelay.py, running inside that
  namespace, holds for delay_ms.  Both namespaces do it to what they
  receive, so delay_ms is the ONE-WAY delay added in EACH direction (the
  round trip grows by 2 x delay_ms) and loss_pct is lost in each direction
  independently.  Delaying at the receiver keeps the sender's stack out of
  it: a packet held in the sender's own output path would still count
  against TCP's small-queue limit and block its retransmission.  The
  NFQUEUE rules have no --queue-bypass: should a delayer die, the path
  swallows everything, and unimpair() (or check_delayers()) fails the test
  with the delayer's stderr rather than letting packets through undelayed.

TCP through loss moves as fast as its congestion control lets it: new
namespaces take the host's net.ipv4.tcp_congestion_control (bbr on this
project's machines: 8 MiB through impair(50, 1) in ~2 s; with cubic it
takes ~45 s), and a namespace may not change it; a socket can
(TCP_CONGESTION).  One connection at 100 ms RTT tops out near 15 MB/s
(the sender's buffer, net.ipv4.tcp_wmem, 4 MiB at most by default).

Everything is undone when the Workdir closes: processes still running in
the namespaces are stopped, then the namespaces are deleted (which deletes
the veth and every rule).  cleanup_stale() deletes what a crashed run left.

Needs root, iproute2 (`ip`) and iptables (either backend, nft or legacy).
Standard library only; Linux.
"""

import ctypes
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import harness

PREFIX = "alk-"
IFNAME = "alk0"
QUEUE = 1  # NFQUEUE queue number; queues are per namespace
DELAYER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "netdelay.py")
NETNS_DIR = "/run/netns"
_NAME = re.compile(r"^alk-[ab]-(\d+)-(\d+)$")
_serial = itertools.count(1)


# ---------------------------------------------------------------- commands

def _cmd(argv, timeout=30):
    """Runs argv: (status, stdout, stderr) as text."""
    r = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    return (r.returncode, r.stdout.decode("utf-8", "replace"),
            r.stderr.decode("utf-8", "replace").strip())


def _must(argv, timeout=30):
    status, out, err = _cmd(argv, timeout)
    if status != 0:
        raise harness.Fail(f"{' '.join(map(str, argv))} exited {status}: {err}")
    return out


def namespaces():
    """Names of the alk-* network namespaces that exist now."""
    status, out, _ = _cmd(["ip", "netns", "list"])
    if status != 0:
        return []
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [n for n in names if n.startswith(PREFIX)]


def ns_pids(ns):
    """Pids of the processes whose network namespace is ns."""
    status, out, _ = _cmd(["ip", "netns", "pids", ns])
    return [int(p) for p in out.split()] if status == 0 else []


def _stop_processes(ns, grace=2.0):
    """SIGTERM to every process in ns, SIGKILL to what is left after grace."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        pids = ns_pids(ns)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while ns_pids(ns) and time.monotonic() < deadline:
            time.sleep(0.05)


def delete_namespace(ns):
    """Stops the processes in ns, then deletes it (and its end of the veth)."""
    _stop_processes(ns)
    _cmd(["ip", "netns", "delete", ns])


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def cleanup_stale():
    """Deletes the alk-* namespaces that a crashed earlier run left behind;
    returns their names.  A namespace named alk-a-PID-N / alk-b-PID-N whose
    creating process PID is still alive belongs to a run in progress (another
    test session on this machine) and is left alone."""
    removed = []
    for ns in namespaces():
        m = _NAME.match(ns)
        if m and _alive(int(m.group(1))):
            continue
        delete_namespace(ns)
        removed.append(ns)
    return removed


# ---------------------------------------------------------------- sockets in a namespace

_CLONE_NEWNET = 0x40000000


def _setns(fd):
    if hasattr(os, "setns"):  # Python 3.12
        os.setns(fd, _CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def socket_in(ns, family=socket.AF_INET, kind=socket.SOCK_STREAM):
    """A new socket that lives in namespace ns.  The calling thread enters
    ns only to create it and is back in its own namespace on return; the
    socket stays in ns for good (connect, bind and listen act there)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        there = os.open(os.path.join(NETNS_DIR, ns), os.O_RDONLY)
        try:
            _setns(there)
            try:
                return socket.socket(family, kind)
            finally:
                _setns(home)
        finally:
            os.close(there)
    finally:
        os.close(home)


# ---------------------------------------------------------------- the pair

class NetPair:
    """Namespaces .a and .b (names), addresses .a_addr and .b_addr, joined
    by a veth (interface IFNAME in both); see the module's docstring.
    Raises harness.Skip when namespaces cannot be made here."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.ifname = IFNAME
        self.cut_active = False
        self.impairment = None  # (delay_ms, loss_pct) while impaired
        self.delayer_reports = []  # netdelay's exit summaries
        self._delayers = []
        self._impair_rules = []
        self._created = []
        if os.geteuid() != 0:
            raise harness.Skip("network namespaces need root")
        if shutil.which("ip") is None:
            raise harness.Skip("ip is not installed (apt-get install iproute2)")
        if shutil.which("iptables") is None:
            raise harness.Skip("iptables is not installed (apt-get install iptables)")
        cleanup_stale()
        n = next(_serial)
        while any(os.path.exists(os.path.join(NETNS_DIR, f"alk-{s}-{os.getpid()}-{n}"))
                  for s in "ab"):
            n = next(_serial)
        self.a, self.b = f"alk-a-{os.getpid()}-{n}", f"alk-b-{os.getpid()}-{n}"
        net = f"198.18.{n % 256}"
        self.a_addr, self.b_addr = f"{net}.1", f"{net}.2"
        workdir.on_close(self.close)

        for ns in (self.a, self.b):
            status, _, err = _cmd(["ip", "netns", "add", ns])
            if status != 0:
                raise harness.Skip(f"cannot create a network namespace "
                                   f"(ip netns add: {err})")
            self._created.append(ns)
        status, _, err = _cmd(["ip", "link", "add", IFNAME, "netns", self.a, "type", "veth",
                               "peer", "name", IFNAME, "netns", self.b])
        if status != 0:
            raise harness.Skip(f"cannot create a veth pair between namespaces ({err})")
        for ns, addr in ((self.a, self.a_addr), (self.b, self.b_addr)):
            _must(["ip", "-n", ns, "link", "set", "lo", "up"])
            _must(["ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", IFNAME])
            # one MTU-sized packet per skb, so that loss and queueing act per
            # packet (iproute2 older than 5.19 cannot set it: then skbs of up
            # to 64 KiB cross the veth, and each is lost or delayed whole)
            _cmd(["ip", "-n", ns, "link", "set", IFNAME, "mtu", "1500", "gso_max_segs", "1"])
            _must(["ip", "-n", ns, "link", "set", IFNAME, "up"])
        status, _, err = _cmd(self.prefix(self.a) + ["true"])
        if status != 0:
            raise harness.Skip(f"cannot run a command in a network namespace "
                               f"(ip netns exec: {err})")
        for ns in (self.a, self.b):
            status, _, err = _cmd(self.prefix(ns) + ["iptables", "-w", "-S", "INPUT"])
            if status != 0:
                raise harness.Skip(f"iptables does not work in a network namespace here: {err}")

    # ------------------------------------------------------------ running things inside

    def prefix(self, ns):
        """The argv prefix that runs a command inside ns.  `ip netns exec`
        execs the command in place, so a harness.Proc's pid is the
        command's own and killing the Proc kills the command."""
        return ["ip", "netns", "exec", ns]

    def proc(self, ns, argv, **kw):
        """harness.Proc of argv run inside ns (keywords as for Proc)."""
        return harness.Proc(self.workdir, self.prefix(ns) + list(argv), **kw)

    def run(self, ns, argv, timeout=30):
        """Runs a short command inside ns to completion; its stdout as text."""
        return harness.run(self.prefix(ns) + list(argv), timeout=timeout)

    def socket(self, ns, family=socket.AF_INET, kind=socket.SOCK_STREAM):
        """A socket of this process that lives in ns (see socket_in)."""
        return socket_in(ns, family, kind)

    def connect(self, ns, addr, port, timeout=5.0):
        """A TCP connection made from inside ns to addr:port (timeout set)."""
        s = socket_in(ns, socket.AF_INET6 if ":" in addr else socket.AF_INET)
        s.settimeout(timeout)
        try:
            s.connect((addr, port))
        except BaseException:
            s.close()
            raise
        return s

    def listen(self, ns, addr, port=0, backlog=16):
        """A listening TCP socket inside ns on addr:port; port 0 picks one
        (read it with .getsockname()[1])."""
        s = socket_in(ns, socket.AF_INET6 if ":" in addr else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(backlog)
        return s

    def wait_port(self, ns, addr, port, timeout=10.0, proc=None):
        """Waits until something accepts connections on addr:port inside ns;
        with `proc`, fails at once if that process exits first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.connect(ns, addr, port, timeout=1).close()
                return
            except OSError:
                pass
            if proc is not None and not proc.alive():
                raise harness.Fail(f"{proc.name} exited with status {proc.returncode} "
                                   f"before listening on {addr}:{port} in {ns}:\n"
                                   f"{proc.stderr_tail()}")
            if time.monotonic() > deadline:
                raise harness.Fail(f"nothing listening on {addr}:{port} in {ns} "
                                   f"after {timeout}s")
            time.sleep(0.05)

    def blast(self, ns):
        """A `blast server` listening on ns's veth address; returns
        (port, Proc)."""
        addr = self.a_addr if ns == self.a else self.b_addr
        proc = self.proc(ns, [harness.ensure_blast(), "server", "--listen", f"{addr}:0"],
                         name="blast-server")
        deadline = time.monotonic() + 10
        while True:
            first = proc.stdout_text().split("\n", 1)
            if len(first) == 2 and first[0].startswith("port "):
                return int(first[0].split()[1]), proc
            if not proc.alive() or time.monotonic() > deadline:
                raise harness.Fail(f"blast server did not start in {ns}:\n"
                                   f"{proc.stderr_tail()}")
            time.sleep(0.02)

    def blast_client(self, ns, host, port, mode, nbytes, streams=1, seed=None, socks=None,
                     timeout=60):
        """`blast client` run inside ns (see harness.blast_client); returns
        (ok, summary line).  socks: "ADDR:PORT" as seen from inside ns."""
        argv = [harness.ensure_blast(), "client", host, port, mode, nbytes,
                "--streams", streams, "--timeout", timeout]
        if seed is not None:
            argv += ["--seed", seed]
        if socks is not None:
            argv += ["--socks", socks]
        proc = self.proc(ns, argv, name="blast-client")
        status = proc.wait(timeout + 15)
        lines = proc.stdout_text().strip().splitlines()
        summary = lines[-1] if lines else \
            f"FAIL no output, status {status}: {proc.stderr_tail(3)}"
        return status == 0 and summary.startswith("ok "), summary

    # ------------------------------------------------------------ faults

    def _iptables(self, ns, *args):
        _must(self.prefix(ns) + ["iptables", "-w", *args])

    _CUT = ["INPUT", "-i", IFNAME, "-m", "comment", "--comment", "alk-cut", "-j", "DROP"]

    def cut(self):
        """Silently drops every packet between a and b, both ways, from now
        on (in-flight delayed packets still arrive).  Idempotent."""
        if self.cut_active:
            return
        for ns in (self.a, self.b):
            self._iptables(ns, "-I", self._CUT[0], "1", *self._CUT[1:])
        self.cut_active = True

    def heal(self):
        """Undoes cut().  Idempotent."""
        if not self.cut_active:
            return
        for ns in (self.a, self.b):
            self._iptables(ns, "-D", *self._CUT)
        self.cut_active = False

    def impair(self, delay_ms=0, loss_pct=0.0):
        """Makes the path slow and lossy: each packet, in each direction,
        is lost with probability loss_pct/100 and otherwise delivered
        delay_ms later (one-way; a round trip takes 2 x delay_ms more).
        Replaces an earlier impair()."""
        self.unimpair()
        self.impairment = (delay_ms, loss_pct)
        try:
            if delay_ms > 0:
                for ns, side in ((self.a, "a"), (self.b, "b")):
                    p = self.proc(ns, [sys.executable, DELAYER, "--queue", QUEUE,
                                       "--delay", delay_ms], name=f"netdelay-{side}")
                    self._delayers.append(p)
                    p.wait_for("ready queue", stream="stdout")
            for ns in (self.a, self.b):
                if loss_pct > 0:
                    self._add_rule(ns, ["INPUT", "-i", IFNAME, "-m", "statistic",
                                        "--mode", "random", "--probability",
                                        f"{loss_pct / 100:.6f}", "-m", "comment",
                                        "--comment", "alk-loss", "-j", "DROP"])
                if delay_ms > 0:
                    self._add_rule(ns, ["INPUT", "-i", IFNAME, "-m", "comment",
                                        "--comment", "alk-delay", "-j", "NFQUEUE",
                                        "--queue-num", QUEUE])
        except BaseException:
            self.unimpair(check_delayers=False)
            raise

    def _add_rule(self, ns, spec):
        self._iptables(ns, "-A", *map(str, spec))
        self._impair_rules.append((ns, spec))

    def check_delayers(self):
        """Fails the test if a delayer of impair() has died (the path would
        then swallow every packet: the queue rules do not bypass)."""
        for p in self._delayers:
            if not p.alive():
                raise harness.Fail(f"{p.name} exited ({p.returncode}) while the path was "
                                   f"impaired:\n{p.stderr_tail()}")

    def unimpair(self, check_delayers=True):
        """Undoes impair(): removes the rules, then lets the delayers deliver
        what they hold and stop.  Their summaries go to .delayer_reports.
        Fails if a delayer had died meanwhile."""
        died = None
        if check_delayers:
            try:
                self.check_delayers()
            except harness.Fail as e:
                died = e
        while self._impair_rules:
            ns, spec = self._impair_rules.pop()
            self._iptables(ns, "-D", *map(str, spec))
        for p in self._delayers:
            p.kill(grace=5.0)
            self.delayer_reports.append(f"{p.name}: {p.stderr_tail(1)}")
        self._delayers = []
        self.impairment = None
        if died:
            raise died

    def queue_stats(self, ns):
        """The kernel's counters for the delay queue in ns: {"waiting",
        "queue_dropped" (queue full), "user_dropped" (delayer's socket
        full), "last_id"}, or {} when no delayer is bound."""
        text = self.run(ns, ["cat", "/proc/net/netfilter/nfnetlink_queue"])
        for line in text.splitlines():
            v = line.split()
            if len(v) >= 8 and int(v[0]) == QUEUE:
                return {"waiting": int(v[2]), "queue_dropped": int(v[5]),
                        "user_dropped": int(v[6]), "last_id": int(v[7])}
        return {}

    # ------------------------------------------------------------ cleanup

    def close(self):
        """Stops every process in the namespaces and deletes them.
        Registered with the workdir; safe to call twice."""
        for p in self._delayers:
            p.kill(grace=1.0)
        self._delayers = []
        while self._created:
            delete_namespace(self._created.pop())
