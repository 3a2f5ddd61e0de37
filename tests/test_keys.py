"""Keys and known_hosts, interchangeable with OpenSSH (issue 2): files
written by alknet load in ssh-keygen and ssh, and the other way round."""

import os

import harness
from harness import check


def test_keygen_loads_in_ssh_keygen(t):
    key = t.path("alk_key")
    status, out, err = harness.alknet(["keygen", "-f", key, "-C", "alknet-test"])
    check(status == 0, err)
    check(oct(os.stat(key).st_mode & 0o777) == "0o600", "private key must be 0600")
    pub = harness.run(["ssh-keygen", "-y", "-f", key]).split()
    with open(key + ".pub") as f:
        line = f.read().split()
    check(pub[:2] == line[:2] and line[2] == "alknet-test", f"{pub} vs {line}")
    lf = harness.run(["ssh-keygen", "-lf", key + ".pub"]).strip()
    status, out, _ = harness.alknet(["pubkey", "-f", key])
    check(out.splitlines() == [" ".join(line), lf], f"pubkey printed {out!r}, ssh-keygen {lf!r}")
    status, _, err = harness.alknet(["keygen", "-f", key])
    check(status == 3 and "exists" in err, f"must not overwrite: {status} {err}")


def test_ssh_keygen_key_loads_in_alknet(t):
    key = t.keygen("ossh", comment="made-by-ssh-keygen")
    status, out, err = harness.alknet(["pubkey", "-f", key])
    lf = harness.run(["ssh-keygen", "-lf", key]).strip()
    y = harness.run(["ssh-keygen", "-y", "-f", key]).split()
    got = out.splitlines()
    check(status == 0 and got[0].split()[:2] == y[:2] and got[1] == lf, f"{out} vs {lf} {err}")
    status, out, _ = harness.alknet(["pubkey", "-f", key + ".pub"])
    check(out.splitlines()[1] == lf, "the .pub file gives the same fingerprint")


def test_alknet_key_authenticates_to_sshd(t):
    """An alknet-made key logs in to a real sshd, through alknet and through ssh."""
    sshd = t.sshd()
    key = t.path("alk_key")
    harness.alknet(["keygen", "-f", key])
    sshd.add_authorized_key(key + ".pub")
    out = harness.run(sshd.ssh_argv(key, "echo", "ssh-ok"))
    check(out.strip() == "ssh-ok", out)
    status, out, err = harness.alknet(["connect", f"{sshd.user}@127.0.0.1", "-p", sshd.port,
                                       "-i", key, "--known-hosts", sshd.known_hosts, "--check"])
    check(status == 0, err)


def test_encrypted_key_refused(t):
    key = t.path("enc")
    harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "passphrase", "-f", key])
    status, _, err = harness.alknet(["pubkey", "-f", key])
    check(status == 3 and "encrypted" in err and "ssh-keygen -p" in err, f"{status} {err}")
    status, _, err = harness.alknet(["connect", "u@127.0.0.1", "-i", key, "--check"])
    check(status == 3 and "ssh-keygen -p" in err, f"{status} {err}")


def test_open_permissions_refused(t):
    key = t.keygen("loose")
    os.chmod(key, 0o644)
    status, _, err = harness.alknet(["connect", "u@127.0.0.1", "-i", key, "--check"])
    check(status == 3 and "0644" in err and "chmod 600" in err, f"{status} {err}")


def test_not_a_key(t):
    bad = t.path("bad")
    with open(bad, "w") as f:
        f.write("-----BEGIN OPENSSH PRIVATE KEY-----\nnot base64 ***\n"
                "-----END OPENSSH PRIVATE KEY-----\n")
    os.chmod(bad, 0o600)
    status, _, err = harness.alknet(["pubkey", "-f", bad])
    check(status == 3 and "damaged" in err, f"{status} {err}")
    rsa = t.path("rsa")
    harness.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", rsa])
    status, _, err = harness.alknet(["pubkey", "-f", rsa])
    check(status == 3 and "ed25519" in err, f"{status} {err}")
    status, _, err = harness.alknet(["pubkey", "-f", t.path("missing")])
    check(status == 3 and "missing" in err, f"{status} {err}")


def test_default_identity_and_ssh_known_hosts(t):
    """With HOME set: ~/.alknet/id_ed25519 is the default identity and
    ~/.ssh/known_hosts is read when ~/.alknet/known_hosts has no entry."""
    sshd = t.sshd()
    home = t.path("home")
    os.makedirs(home + "/.ssh")
    status, out, err = harness.alknet(["keygen"], env={"HOME": home})
    check(status == 0 and os.path.exists(home + "/.alknet/id_ed25519"), err)
    check(oct(os.stat(home + "/.alknet").st_mode & 0o777) == "0o700", "~/.alknet must be 0700")
    sshd.add_authorized_key(home + "/.alknet/id_ed25519.pub")
    with open(home + "/.ssh/known_hosts", "w") as f:
        f.write(sshd.known_hosts_line() + "\n")
    status, out, err = harness.alknet(["connect", f"{sshd.user}@127.0.0.1", "-p", sshd.port,
                                       "--check"], env={"HOME": home})
    check(status == 0, f"{status} {err}")


def test_hashed_known_hosts(t):
    """Entries hashed by ssh-keygen -H (|1|salt|hash) are found."""
    sshd = t.sshd()
    key = sshd.new_client_key()
    kh = t.path("hashed_known_hosts")
    with open(kh, "w") as f:
        f.write(sshd.known_hosts_line() + "\n")
    harness.run(["ssh-keygen", "-H", "-f", kh])
    with open(kh) as f:
        text = f.read()
    check(text.startswith("|1|"), text)
    status, _, err = harness.alknet(["connect", f"{sshd.user}@127.0.0.1", "-p", sshd.port, "-i",
                                     key, "--known-hosts", kh, "--check"])
    check(status == 0, f"{status} {err}")


def test_accept_new_writes_what_ssh_reads(t):
    """--accept-new records the key; the line it writes is accepted by ssh
    itself, and a later changed key is refused even with --accept-new."""
    sshd = t.sshd()
    key = sshd.new_client_key()
    kh = t.path("kh_new")
    argv = ["connect", f"{sshd.user}@127.0.0.1", "-p", sshd.port, "-i", key, "--known-hosts", kh,
            "--check"]
    status, _, err = harness.alknet(argv + ["--accept-new"])
    check(status == 0 and "added host key" in err, f"{status} {err}")
    status, _, err = harness.alknet(argv)
    check(status == 0, f"recorded key must be trusted: {status} {err}")
    ssh = sshd.ssh_argv(key, "echo", "ok")
    ssh[ssh.index(f"UserKnownHostsFile={sshd.known_hosts}")] = f"UserKnownHostsFile={kh}"
    check(harness.run(ssh).strip() == "ok", "ssh must accept alknet's known_hosts line")
    # the server gets a new host key: refused, whatever --accept-new says
    sshd.stop()
    harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", sshd.host_key + "2"])
    os.replace(sshd.host_key + "2", sshd.host_key)
    sshd.start()
    status, _, err = harness.alknet(argv + ["--accept-new"])
    check(status == 5 and "CHANGED" in err, f"{status} {err}")


def test_pin_with_accept_new(t):
    """--host-key with --accept-new: the pinned key is recorded, so later
    connects without the pin trust it; a known_hosts entry for another key
    yields to the pin (with a warning), and a wrong pin is still refused.
    The "not known" message names the fingerprint whole and the file."""
    sshd = t.sshd()
    key = sshd.new_client_key()
    kh = t.path("kh_pin")
    argv = ["connect", f"{sshd.user}@127.0.0.1", "-p", sshd.port, "-i", key, "--known-hosts", kh,
            "--check"]
    status, _, err = harness.alknet(argv)
    check(status == 5 and f"--host-key {sshd.host_fingerprint}," in err
          and f"--accept-new to record it in {kh}" in err, f"{status} {err}")
    status, _, err = harness.alknet(argv + ["--host-key", sshd.host_fingerprint, "--accept-new"])
    check(status == 0 and "added host key" in err, f"{status} {err}")
    status, _, err = harness.alknet(argv)
    check(status == 0, f"the pinned key must now be on record: {status} {err}")
    with open(kh, "w") as f:  # another key on record for this host
        f.write(sshd.known_hosts_line().rsplit(" ", 1)[0] + " "
                + "AAAAC3NzaC1lZDI1NTE5AAAAIEnZ2WyO6/FWxk+4ncjjRzx0v9e5hd2Qs0mAmI3bi6Yy\n")
    status, _, err = harness.alknet(argv + ["--host-key", sshd.host_fingerprint, "--accept-new"])
    check(status == 0 and "has another one" in err, f"{status} {err}")
    status, _, err = harness.alknet(argv + ["--host-key", "SHA256:" + "A" * 43, "--accept-new"])
    check(status == 5 and "does not match --host-key" in err, f"{status} {err}")
