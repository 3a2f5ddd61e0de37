#!/usr/bin/env python3
"""A small DNS responder for alknet's tests (standard library only).

    python3 tests/dnsd.py --port 0 [--zone FILE] [--bind 127.0.0.1]

prints "port N" as its first stdout line once it listens, then answers UDP
and TCP (RFC 1035 4.2.1, 4.2.2) on the bind address, port N, until killed.

Zone file, one directive a line, '#' starts a comment, names any case, a
trailing dot optional:

    NAME A 1.2.3.4 [TTL]    NAME AAAA ::1 [TTL]    NAME CNAME OTHER [TTL]
    NAME DELAY 5            answer NAME only after 5 s (other names go on)
    NAME NXDOMAIN           NAME SERVFAIL           NAME REFUSED
    NAME TRUNCATE           UDP: TC set, no answers; TCP: the full answer
    NAME DROP               never answer

Several A/AAAA lines for one name give several records. TTL defaults to 60.
Unknown names get NXDOMAIN. CNAME chains are followed inside the zone (at
most 8 hops) and the whole chain goes into the answer, compressed as a real
server does. Negative answers carry an SOA (minimum 30) for the name's last
label. DELAY, TRUNCATE and DROP apply to the name in the question; the
rcode directives also apply when a chain reaches the name. A name with
only DELAY/TRUNCATE/DROP lines exists without records (NODATA). A chain
longer than 8 (a loop) is answered, as BIND does, with NOERROR and the 9
CNAMEs written so far. UDP answers
longer than 512 bytes are truncated (TC). Each query is logged to stderr,
one line: "dnsd: udp 127.0.0.1:5353 a.test A -> 2 answers".

From a test:

    import dnsd
    port, stop = dnsd.start("a.test A 1.2.3.4\\n")   # returns once listening
    ...
    stop()
"""

import argparse
import ipaddress
import selectors
import signal
import socket
import struct
import sys
import threading

T_A, T_CNAME, T_SOA, T_AAAA, T_ANY = 1, 5, 6, 28, 255
TYPE_NAMES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT",
              28: "AAAA", 33: "SRV", 41: "OPT", 65: "HTTPS", 255: "ANY"}
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
RCODES = {"NXDOMAIN": NXDOMAIN, "SERVFAIL": SERVFAIL, "REFUSED": REFUSED}
DEFAULT_TTL = 60
NEG_TTL = 30
UDP_MAX = 512
MAX_CHAIN = 8


def norm(name):
    """Zone key of a name: lower case, no trailing dot."""
    name = name.lower()
    return name[:-1] if name.endswith(".") and name != "." else name


def labels_of(name):
    name = norm(name)
    return [] if name in ("", ".") else [l.encode("ascii") for l in name.split(".")]


class Entry:
    def __init__(self):
        self.a, self.aaaa = [], []  # (packed address, ttl)
        self.cname = None           # (target, ttl)
        self.rcode = None
        self.delay = 0.0
        self.truncate = self.drop = False


class Zone:
    def __init__(self, text=""):
        self.names = {}
        for no, raw in enumerate(text.splitlines(), 1):
            words = raw.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) < 2:
                raise ValueError(f"zone line {no}: expected NAME DIRECTIVE ...: {raw!r}")
            name, what, args = norm(words[0]), words[1].upper(), words[2:]
            e = self.names.setdefault(name, Entry())
            try:
                if what in ("A", "AAAA", "CNAME"):
                    ttl = int(args[1]) if len(args) > 1 else DEFAULT_TTL
                    if what == "A":
                        e.a.append((ipaddress.IPv4Address(args[0]).packed, ttl))
                    elif what == "AAAA":
                        e.aaaa.append((ipaddress.IPv6Address(args[0]).packed, ttl))
                    else:
                        e.cname = (norm(args[0]), ttl)
                elif what == "DELAY":
                    e.delay = float(args[0])
                elif what in RCODES:
                    e.rcode = RCODES[what]
                elif what == "TRUNCATE":
                    e.truncate = True
                elif what == "DROP":
                    e.drop = True
                else:
                    raise ValueError(f"unknown directive {what}")
            except (IndexError, ValueError) as exc:
                raise ValueError(f"zone line {no}: {exc}: {raw!r}") from None


class Writer:
    """A DNS message being built, with RFC 1035 4.1.4 name compression."""

    def __init__(self):
        self.buf = bytearray()
        self.seen = {}  # lower-case suffix (tuple of labels) -> offset

    def name(self, labels):
        for i in range(len(labels)):
            key = tuple(l.lower() for l in labels[i:])
            if key in self.seen:
                self.buf += struct.pack("!H", 0xC000 | self.seen[key])
                return
            if len(self.buf) < 0x4000:
                self.seen[key] = len(self.buf)
            self.buf += bytes([len(labels[i])]) + labels[i]
        self.buf.append(0)

    def rr(self, labels, rtype, ttl, rdata_fn):
        self.name(labels)
        self.buf += struct.pack("!HHI", rtype, 1, ttl)
        at = len(self.buf)
        self.buf += b"\0\0"
        rdata_fn()
        struct.pack_into("!H", self.buf, at, len(self.buf) - at - 2)


def parse_query(data):
    """(id, flags, qlabels, qtype, qclass) or None for what is not a query.
    qlabels is None when the question cannot be read."""
    if len(data) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    if flags & 0x8000:
        return None
    if qd != 1:
        return qid, flags, None, 0, 0
    off, labels = 12, []
    while True:
        if off >= len(data):
            return qid, flags, None, 0, 0
        n = data[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 or off + 1 + n > len(data):
            return qid, flags, None, 0, 0
        labels.append(bytes(data[off + 1:off + 1 + n]))
        off += 1 + n
    if off + 4 > len(data):
        return qid, flags, None, 0, 0
    qtype, qclass = struct.unpack("!HH", data[off:off + 4])
    return qid, flags, labels, qtype, qclass


class Server:
    def __init__(self, zone, host="127.0.0.1", port=0, log=sys.stderr):
        self.zone, self.log = zone, log
        self.udp, self.tcp = self._bind(host, port)
        self.port = self.udp.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.wake_r, self.wake_w = socket.socketpair()
        self.sel.register(self.udp, selectors.EVENT_READ, "udp")
        self.sel.register(self.tcp, selectors.EVENT_READ, "tcp")
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.stopping = False
        self.lock = threading.Lock()
        self.timers, self.conns, self.threads = set(), set(), []

    @staticmethod
    def _bind(host, port):
        """UDP and TCP on the same port; with port 0, retries until the
        kernel's free UDP port is also free for TCP."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        for _ in range(50):
            udp = socket.socket(family, socket.SOCK_DGRAM)
            tcp = socket.socket(family, socket.SOCK_STREAM)
            try:
                udp.bind((host, port))
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((host, udp.getsockname()[1]))
                tcp.listen(64)
                return udp, tcp
            except OSError:
                udp.close()
                tcp.close()
                if port != 0:
                    raise
        raise OSError("dnsd: no port free for both UDP and TCP")

    # ---- answering ----

    def say(self, line):
        if self.log:
            print("dnsd: " + line, file=self.log, flush=True)

    def answer(self, data, proto, peer):
        """(reply bytes or None, delay seconds)."""
        q = parse_query(data)
        where = f"{proto} {peer[0]}:{peer[1]}"
        if q is None:
            self.say(f"{where} not a query ({len(data)} bytes) -> dropped")
            return None, 0.0
        qid, flags, qlabels, qtype, qclass = q
        if qlabels is None:
            self.say(f"{where} malformed question -> FORMERR")
            return struct.pack("!HHHHHH", qid, 0x8000 | (flags & 0x0100) | FORMERR,
                               0, 0, 0, 0), 0.0
        qname = b".".join(qlabels).decode("ascii", "replace") or "."
        tname = TYPE_NAMES.get(qtype, str(qtype))
        entry = self.zone.names.get(norm(qname))
        opcode = flags >> 11 & 15
        w = Writer()
        w.buf += bytes(12)
        w.name(qlabels)
        w.buf += struct.pack("!HH", qtype, qclass)
        rcode, an, ns, tc, delay = NOERROR, 0, 0, 0, 0.0
        if entry is not None and entry.drop:
            self.say(f"{where} {qname} {tname} -> dropped")
            return None, 0.0
        if entry is not None:
            delay = entry.delay
        if opcode != 0:
            rcode, what = NOTIMP, "NOTIMP"
        elif qclass != 1:
            rcode, what = REFUSED, "REFUSED (class)"
        elif entry is not None and entry.truncate and proto == "udp":
            tc, what = 1, "truncated"
        else:
            rcode, an, ns = self.resolve(w, qlabels, qtype)
            what = {NOERROR: f"{an} answers" if an else "NODATA", NXDOMAIN: "NXDOMAIN",
                    SERVFAIL: "SERVFAIL", REFUSED: "REFUSED"}[rcode]
        hdr = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | (tc << 9) | (flags & 0x0100)
                          | 0x0080 | rcode, 1, an, ns, 0)
        w.buf[0:12] = hdr
        reply = bytes(w.buf)
        if proto == "udp" and len(reply) > UDP_MAX:
            end = 12 + sum(len(l) + 1 for l in qlabels) + 1 + 4
            reply = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | 0x0200 | (flags & 0x0100)
                                | 0x0080 | rcode, 1, 0, 0, 0) + reply[12:end]
            what += f" (truncated, {len(bytes(w.buf))} bytes)"
        self.say(f"{where} {qname} {tname} -> {what}"
                 + (f" after {delay:g} s" if delay else ""))
        return reply, delay

    def resolve(self, w, qlabels, qtype):
        """Writes the answer (and SOA) records; returns (rcode, an, ns)."""
        labels, name, an = qlabels, norm(b".".join(qlabels).decode("ascii", "replace")), 0
        for _hop in range(MAX_CHAIN + 1):
            e = self.zone.names.get(name)
            if e is None:
                return NXDOMAIN, an, self.soa(w, name)
            if e.rcode is not None:
                return e.rcode, an, self.soa(w, name) if e.rcode == NXDOMAIN else 0
            if e.cname and qtype != T_CNAME:
                target, ttl = e.cname
                tl = labels_of(target)
                w.rr(labels, T_CNAME, ttl, lambda: w.name(tl))
                an += 1
                labels, name = tl, target
                continue
            recs = []
            if qtype in (T_A, T_ANY):
                recs += [(T_A, a, t) for a, t in e.a]
            if qtype in (T_AAAA, T_ANY):
                recs += [(T_AAAA, a, t) for a, t in e.aaaa]
            if qtype == T_CNAME and e.cname:
                tl = labels_of(e.cname[0])
                w.rr(labels, T_CNAME, e.cname[1], lambda: w.name(tl))
                an += 1
            for rtype, addr, ttl in recs:
                w.rr(labels, rtype, ttl, lambda: w.buf.extend(addr))
                an += 1
            if an == 0 or not recs and qtype != T_CNAME:
                return NOERROR, an, self.soa(w, name)
            return NOERROR, an, 0
        return NOERROR, an, 0  # chain too long (a loop): BIND sends what it has

    @staticmethod
    def soa(w, name):
        """RFC 2308 3: an SOA in the authority section of a negative answer."""
        apex = labels_of(name)[-1:]

        def rdata():
            w.name([b"ns"] + apex)
            w.name([b"hostmaster"] + apex)
            w.buf += struct.pack("!IIIII", 1, 3600, 600, 86400, NEG_TTL)
        w.rr(apex, T_SOA, DEFAULT_TTL, rdata)
        return 1

    # ---- I/O ----

    def later(self, delay, fn):
        if delay <= 0:
            fn()
            return
        t = threading.Timer(delay, lambda: (self.timers.discard(t), fn()))
        t.daemon = True
        with self.lock:
            if self.stopping:
                return
            self.timers.add(t)
        t.start()

    def serve(self):
        while not self.stopping:
            for key, _ in self.sel.select():
                if key.data == "wake":
                    return
                if key.data == "udp":
                    try:
                        data, peer = self.udp.recvfrom(65535)
                    except OSError:
                        continue
                    reply, delay = self.answer(data, "udp", peer)
                    if reply is not None:
                        self.later(delay, lambda r=reply, p=peer: self._sendto(r, p))
                else:
                    try:
                        conn, peer = self.tcp.accept()
                    except OSError:
                        continue
                    th = threading.Thread(target=self.tcp_conn, args=(conn, peer), daemon=True)
                    with self.lock:
                        self.conns.add(conn)
                        self.threads.append(th)
                    th.start()

    def _sendto(self, reply, peer):
        try:
            self.udp.sendto(reply, peer)
        except OSError:
            pass

    def tcp_conn(self, conn, peer):
        """RFC 1035 4.2.2: u16 length + message, several per connection."""
        wlock = threading.Lock()

        def send(reply):
            with wlock:
                try:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
                except OSError:
                    pass
        buf = b""
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                buf += data
                while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                    n = struct.unpack("!H", buf[:2])[0]
                    msg, buf = buf[2:2 + n], buf[2 + n:]
                    reply, delay = self.answer(msg, "tcp", peer)
                    if reply is not None:
                        self.later(delay, lambda r=reply: send(r))
        except OSError:
            pass
        finally:
            with self.lock:
                self.conns.discard(conn)
            conn.close()

    def stop(self):
        with self.lock:
            self.stopping = True
            timers, conns = list(self.timers), list(self.conns)
        for t in timers:
            t.cancel()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            self.wake_w.send(b"x")
        except OSError:
            pass


def start(zone_text="", host="127.0.0.1", log=sys.stderr):
    """Starts a responder in a thread; returns (port, stop) once it listens.
    stop() stops it and waits for it; stop.set_zone(text) replaces the zone
    (a name that moves, as with dynamic DNS)."""
    srv = Server(Zone(zone_text), host, 0, log)
    th = threading.Thread(target=srv.serve, daemon=True)
    th.start()

    def stop():
        srv.stop()
        th.join(5)
        for t in list(srv.threads):
            t.join(5)
        for s in (srv.udp, srv.tcp, srv.wake_r, srv.wake_w):
            s.close()
        srv.sel.close()
    stop.set_zone = lambda text: setattr(srv, "zone", Zone(text))
    return srv.port, stop


def main():
    ap = argparse.ArgumentParser(description="DNS responder for alknet's tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--zone", help="zone file (see the module's doc)")
    ap.add_argument("--bind", default="127.0.0.1")
    args = ap.parse_args()
    text = ""
    if args.zone:
        with open(args.zone, encoding="utf-8") as f:
            text = f.read()
    try:
        srv = Server(Zone(text), args.bind, args.port)
    except (ValueError, OSError) as exc:
        print(f"dnsd: {exc}", file=sys.stderr)
        return 2
    print(f"port {srv.port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: srv.stop())
    try:
        srv.serve()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
