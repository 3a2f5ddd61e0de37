#!/usr/bin/env python3
"""Delays every packet of an NFQUEUE queue by a fixed time, in order.

    python3 tests/netdelay.py --queue N --delay MS [--maxlen N] [--rcvbuf BYTES]
                              [--fail-open]

Run it inside the network namespace whose iptables rule sends packets to
queue N (`-j NFQUEUE --queue-num N`; queues are per namespace).  It binds
the queue over raw netlink (NETLINK_NETFILTER, nfnetlink_queue as described
by the kernel's include/uapi/linux/netfilter/nfnetlink_queue.h), prints
"ready queue N delay MS" on stdout once bound, and from then on accepts
each packet MS milliseconds after it arrived here.  The delay is the same
for every packet and the verdicts go out in arrival order
(NFQNL_MSG_VERDICT_BATCH: "accept every id up to this one"; the kernel
numbers a queue's packets in order), so nothing is reordered.

Only metadata crosses to userspace (NFQNL_COPY_META): the per-packet cost
is one small netlink message in and a share of one batch verdict out
(about 30,000 packets a second, ~40 MB/s of 1500-byte packets, on one
core here).  No NFQNL_CFG_CMD_PF_BIND is sent: Linux ignores it since 3.8.

Capacity: the kernel holds at most --maxlen packets waiting for a verdict
(default 16384: a 6 MiB TCP window of 1500-byte packets is ~4300), and the
socket's receive buffer (--rcvbuf, default 64 MiB, set with SO_RCVBUFFORCE
as root) absorbs bursts while this program is busy.  What happens past
those limits: by default the kernel DROPS the packet, like a router's
buffer overflowing, which a TCP test sees as congestion loss.  --fail-open
(NFQA_CFG_F_FAIL_OPEN) makes it ACCEPT such packets at once instead,
undelayed and so out of order; the default is kept because a fault test
should see a lossy path rather than a silently faster one.  Either way the
summary on exit reports the kernel's counts.

SIGTERM / SIGINT: stops taking new packets only once the ones waiting have
had their delay (remove the iptables rule first), unbinds, prints a summary
on stderr and exits 0.  Standard library only; Linux; needs CAP_NET_ADMIN.
"""

import argparse
import collections
import errno
import os
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
SOL_NETLINK = 270
SO_RCVBUFFORCE = 33

# netlink (linux/netlink.h)
NLMSG_HDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN = 1, 2, 3, 4
NLA_HDR = struct.Struct("=HH")  # nla_len, nla_type
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED / NLA_F_NET_BYTEORDER

# nfnetlink (linux/netfilter/nfnetlink.h)
NFGENMSG = struct.Struct("!BBH")  # family, version, res_id (big-endian)
NFNETLINK_V0 = 0
NFNL_SUBSYS_QUEUE = 3

# nfnetlink_queue (linux/netfilter/nfnetlink_queue.h)
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG, NFQNL_MSG_VERDICT_BATCH = 0, 1, 2, 3
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN, NFQA_CFG_MASK, NFQA_CFG_FLAGS = 1, 2, 3, 4, 5
NFQNL_CFG_CMD_BIND, NFQNL_CFG_CMD_UNBIND = 1, 2
NFQNL_COPY_META = 1
NFQA_CFG_F_FAIL_OPEN = 1 << 0
NFQA_CFG_F_GSO = 1 << 2
NF_ACCEPT = 1

PACKET_TYPE = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET


def attr(kind, payload):
    """One netlink attribute, padded to 4 bytes."""
    raw = NLA_HDR.pack(NLA_HDR.size + len(payload), kind) + payload
    return raw + b"\0" * (-len(raw) % 4)


def attrs(data, offset):
    """{type: payload} of the attributes in data[offset:]."""
    out = {}
    while offset + NLA_HDR.size <= len(data):
        length, kind = NLA_HDR.unpack_from(data, offset)
        if length < NLA_HDR.size:
            break
        out[kind & NLA_TYPE_MASK] = data[offset + NLA_HDR.size:offset + length]
        offset += (length + 3) & ~3
    return out


def messages(data):
    """(type, flags, seq, body) of each netlink message in data."""
    offset = 0
    while offset + NLMSG_HDR.size <= len(data):
        length, kind, flags, seq, _ = NLMSG_HDR.unpack_from(data, offset)
        if length < NLMSG_HDR.size or offset + length > len(data):
            break
        yield kind, flags, seq, data[offset + NLMSG_HDR.size:offset + length]
        offset += (length + 3) & ~3


class Queue:
    """An nfnetlink_queue queue bound on a netlink socket of our own."""

    def __init__(self, num, rcvbuf):
        self.num = num
        self.seq = 0
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
        except OSError:  # without CAP_NET_ADMIN: capped by net.core.rmem_max
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind((0, 0))
        self.buf = bytearray(65536)

    def message(self, msg_type, body, flags=NLM_F_REQUEST):
        self.seq += 1
        head = NFGENMSG.pack(socket.AF_UNSPEC, NFNETLINK_V0, self.num)
        data = head + body
        return NLMSG_HDR.pack(NLMSG_HDR.size + len(data), (NFNL_SUBSYS_QUEUE << 8) | msg_type,
                              flags, self.seq, 0) + data

    def config(self, what, body):
        """Sends one NFQNL_MSG_CONFIG and waits for the kernel's ack;
        raises OSError with the kernel's errno if it refuses."""
        self.sock.send(self.message(NFQNL_MSG_CONFIG, body, NLM_F_REQUEST | NLM_F_ACK))
        want = self.seq
        self.sock.settimeout(5)
        try:
            while True:
                n = self.sock.recv_into(self.buf)
                for kind, _, seq, data in messages(memoryview(self.buf)[:n]):
                    if kind == NLMSG_ERROR and seq == want:
                        code = -struct.unpack_from("=i", data)[0]
                        if code:
                            raise OSError(code, f"{what}: {os.strerror(code)}")
                        return
        finally:
            self.sock.settimeout(None)

    def bind(self, maxlen, fail_open):
        cmd = struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, 0)  # pf: unused since Linux 3.8
        self.config(f"bind queue {self.num}", attr(NFQA_CFG_CMD, cmd))
        params = struct.pack("!IB", 0, NFQNL_COPY_META)  # copy_range, copy_mode (packed)
        self.config("copy mode", attr(NFQA_CFG_PARAMS, params))
        self.config("queue maxlen", attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", maxlen)))
        # GSO: take a large segmentation-offload packet as one entry instead of
        # having the kernel segment it (we neither read nor change payloads).
        flags = NFQA_CFG_F_GSO | (NFQA_CFG_F_FAIL_OPEN if fail_open else 0)
        mask = NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN
        try:
            self.config("flags", attr(NFQA_CFG_MASK, struct.pack("!I", mask))
                        + attr(NFQA_CFG_FLAGS, struct.pack("!I", flags)))
        except OSError as e:
            if e.errno != errno.EOPNOTSUPP or fail_open:
                raise
            # an old kernel without one of these flags: fine without them

    def unbind(self):
        cmd = struct.pack("!BBH", NFQNL_CFG_CMD_UNBIND, 0, 0)
        try:
            self.sock.send(self.message(NFQNL_MSG_CONFIG, attr(NFQA_CFG_CMD, cmd)))
        except OSError:
            pass

    def accept_upto(self, packet_id):
        """Accepts every packet of the queue whose id is <= packet_id."""
        verdict = struct.pack("!II", NF_ACCEPT, packet_id)
        self.sock.send(self.message(NFQNL_MSG_VERDICT_BATCH, attr(NFQA_VERDICT_HDR, verdict)))

    def kernel_stats(self):
        """This queue's line of /proc/net/netfilter/nfnetlink_queue as a dict
        (queue_dropped: dropped because full; user_dropped: not delivered
        to us, i.e. our receive buffer was full)."""
        try:
            with open("/proc/net/netfilter/nfnetlink_queue") as f:
                for line in f:
                    v = line.split()
                    if len(v) >= 8 and int(v[0]) == self.num:
                        return {"waiting": int(v[2]), "queue_dropped": int(v[5]),
                                "user_dropped": int(v[6]), "last_id": int(v[7])}
        except (OSError, ValueError):
            pass
        return {}


def run(args):
    delay = args.delay / 1000.0
    q = Queue(args.queue, args.rcvbuf)
    try:
        q.bind(args.maxlen, args.fail_open)
    except OSError as e:
        hint = " (queue already bound by another program?)" if e.errno == errno.EBUSY else ""
        print(f"netdelay: {e.strerror}{hint}", file=sys.stderr, flush=True)
        return 1

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    q.sock.setblocking(False)
    poller = select.poll()
    poller.register(q.sock.fileno(), select.POLLIN)
    poller.register(wake_r, select.POLLIN)

    pending = collections.deque()  # (due time, packet id), in arrival order
    stats = {"packets": 0, "verdicts": 0, "max_pending": 0, "enobufs": 0, "errors": 0}
    print(f"ready queue {args.queue} delay {args.delay:g}", flush=True)

    sock_fd, buf, recv_into = q.sock.fileno(), q.buf, q.sock.recv_into
    drain_until = None
    while True:
        now = time.monotonic()
        if pending:
            wait_ms = max(0, int((pending[0][0] - now) * 1000) + 1)
        elif stopping:
            wait_ms = 20  # a last look for packets already on their way to us
        else:
            wait_ms = -1
        ready = poller.poll(wait_ms)
        got = 0
        for fd, _ in ready:
            if fd == wake_r:
                try:
                    os.read(wake_r, 512)
                except BlockingIOError:
                    pass
                continue
            now = time.monotonic()
            due = now + delay
            for _ in range(512):  # then look at the clock again
                try:
                    n = recv_into(buf)
                except BlockingIOError:
                    break
                except OSError as e:
                    if e.errno == errno.ENOBUFS:  # the kernel lost messages to us
                        stats["enobufs"] += 1
                        continue
                    raise
                for kind, _, _, data in messages(memoryview(buf)[:n]):
                    if kind == PACKET_TYPE:
                        hdr = attrs(data, NFGENMSG.size).get(NFQA_PACKET_HDR)
                        if hdr is not None:
                            pending.append((due, struct.unpack_from("!I", hdr)[0]))
                            got += 1
                    elif kind == NLMSG_ERROR:
                        code = -struct.unpack_from("=i", data)[0]
                        if code:
                            stats["errors"] += 1
                            print(f"netdelay: kernel error {os.strerror(code)}",
                                  file=sys.stderr, flush=True)
        stats["packets"] += got
        if len(pending) > stats["max_pending"]:
            stats["max_pending"] = len(pending)
        now = time.monotonic()
        last = None
        while pending and pending[0][0] <= now:
            last = pending.popleft()[1]
        if last is not None:
            q.accept_upto(last)
            stats["verdicts"] += 1
        if stopping:
            if drain_until is None:
                drain_until = now + delay + 1.0
            if now > drain_until:  # packets still coming: the rule was left in place
                if pending:
                    q.accept_upto(pending[-1][1])
                    pending.clear()
                break
            if not pending and not got and not any(fd == sock_fd for fd, _ in ready):
                break

    kernel = q.kernel_stats()
    q.unbind()
    q.sock.close()
    print(f"netdelay: queue {args.queue} delay {args.delay:g} ms: {stats['packets']} packets, "
          f"{stats['verdicts']} batch verdicts, at most {stats['max_pending']} waiting, "
          f"{stats['enobufs']} receive overflows (ENOBUFS), {stats['errors']} errors; kernel: "
          + ", ".join(f"{k} {v}" for k, v in kernel.items()), file=sys.stderr, flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description="Delay the packets of an NFQUEUE queue.")
    ap.add_argument("--queue", type=int, required=True, help="queue number (0-65535)")
    ap.add_argument("--delay", type=float, required=True, help="delay per packet, ms")
    ap.add_argument("--maxlen", type=int, default=16384,
                    help="packets the kernel may hold for us (default 16384)")
    ap.add_argument("--rcvbuf", type=int, default=64 << 20,
                    help="netlink socket receive buffer, bytes (default 64 MiB)")
    ap.add_argument("--fail-open", action="store_true",
                    help="when the queue is full, accept packets undelayed instead of "
                         "dropping them")
    args = ap.parse_args()
    if not 0 <= args.queue <= 65535 or args.delay < 0 or args.maxlen < 1:
        ap.error("bad --queue, --delay or --maxlen")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
