#!/usr/bin/env python3
"""Generates tests/vectors/kex.txt: a known answer for one curve25519-sha256
exchange (RFC 8731, RFC 4253 7.2), computed here with hashlib alone, so that
it checks alknet's kex code against an independent implementation of the
formulas.

The ephemeral keys and the shared secret are the RFC 7748 6.1 example
(Alice = client, Bob = server); the host key is RFC 8032 7.1 TEST 1's.
Run:  python3 tests/vectors/gen_kex.py > tests/vectors/kex.txt
"""
import hashlib, struct

def s(b):  # RFC 4251 string
    return struct.pack(">I", len(b)) + b

def mpint(b):  # RFC 4251 mpint from an unsigned big-endian number
    b = b.lstrip(b"\0")
    if b and b[0] & 0x80:
        b = b"\0" + b
    return s(b)

def namelist(*names):
    return s(",".join(names).encode())

def kexinit(cookie, kex, ciphers):
    return (bytes([20]) + cookie + namelist(*kex) + namelist("ssh-ed25519") +
            namelist(*ciphers) + namelist(*ciphers) + namelist("hmac-sha2-256") +
            namelist("hmac-sha2-256") + namelist("none") + namelist("none") +
            namelist() + namelist() + b"\0" + struct.pack(">I", 0))

h = bytes.fromhex
V_C = b"SSH-2.0-alknet_kat"
V_S = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"
cipher = "chacha20-poly1305@openssh.com"
I_C = kexinit(bytes(range(16)), ["curve25519-sha256", "curve25519-sha256@libssh.org",
                                 "kex-strict-c-v00@openssh.com"], [cipher])
I_S = kexinit(bytes(range(16, 32)), ["curve25519-sha256", "kex-strict-s-v00@openssh.com"],
              [cipher, "aes128-gcm@openssh.com"])
esk = h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
Q_C = h("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
Q_S = h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
K = h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
host_sk = h("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
host_pk = h("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
K_S = s(b"ssh-ed25519") + s(host_pk)

H = hashlib.sha256(s(V_C) + s(V_S) + s(I_C) + s(I_S) + s(K_S) + s(Q_C) + s(Q_S) +
                   mpint(K)).digest()

def derive(letter, n, sid=H):
    k = hashlib.sha256(mpint(K) + H + letter + sid).digest()
    while len(k) < n:
        k += hashlib.sha256(mpint(K) + H + k).digest()
    return k[:n]

print("# curve25519-sha256 known answer, client side; made by gen_kex.py (hashlib)")
for name, v in [("v_c", V_C), ("v_s", V_S), ("i_c", I_C), ("i_s", I_S), ("esk", esk),
                ("q_c", Q_C), ("q_s", Q_S), ("k", K), ("host_sk", host_sk),
                ("host_pk", host_pk), ("h", H),
                ("iv_c2s", derive(b"A", 12)), ("iv_s2c", derive(b"B", 12)),
                ("key_c2s", derive(b"C", 64)), ("key_s2c", derive(b"D", 64))]:
    print(f"{name} = {v.hex()}")
