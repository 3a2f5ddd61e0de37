#!/bin/sh
# alknet's main job on one machine, on loopback only:
#   a key pair made by alknet, an SSH server (a private OpenSSH sshd with its
#   own config, never the system's), `alknet connect -D` as the client, and a
#   web page fetched by name through the SOCKS5h port with curl; then the
#   one-shot form `alknet connect ... -- curl ...`.
# Installs what is missing first (Debian), builds ./alknet, cleans up after.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
make -s alknet

d=$(mktemp -d /tmp/alknet-demo-XXXXXX)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$d"
}
trap cleanup EXIT INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SSHD_PORT=$(port) WEB_PORT=$(port) SOCKS_PORT=$(port)
USER_NAME=$(id -un)

echo "== 1. a key pair (OpenSSH format, usable by ssh too)"
./alknet keygen -f "$d/id_ed25519" -C demo

echo "== 2. an SSH server on 127.0.0.1:$SSHD_PORT that accepts that key"
ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
cp "$d/id_ed25519.pub" "$d/authorized_keys"
cat > "$d/sshd_config" <<CONF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $d/host_key
AuthorizedKeysFile $d/authorized_keys
PidFile none
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding yes
CONF
[ "$(id -u)" != 0 ] || mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$d/sshd_config" 2>"$d/sshd.log" &
pids="$pids $!"

echo "== 3. a web page on 127.0.0.1:$WEB_PORT"
mkdir "$d/www"
echo "<h1>Hello from the far side of an alknet tunnel</h1>" > "$d/www/index.html"
python3 -m http.server "$WEB_PORT" --bind 127.0.0.1 --directory "$d/www" >/dev/null 2>&1 &
pids="$pids $!"
sleep 0.5

echo "== 4. the client: SOCKS5h on 127.0.0.1:$SOCKS_PORT (trusting the new server's key on first use)"
./alknet connect "$USER_NAME@127.0.0.1" -p "$SSHD_PORT" -i "$d/id_ed25519" \
    --known-hosts "$d/known_hosts" --accept-new -D "127.0.0.1:$SOCKS_PORT" &
pids="$pids $!"
sleep 0.5

echo "== 5. curl through it; 'localhost' is resolved by the server, not here"
curl -sS --max-time 10 --socks5-hostname "127.0.0.1:$SOCKS_PORT" "http://localhost:$WEB_PORT/"

echo "== 6. one-shot: a tunnel for one command, exit status passed through"
./alknet connect "$USER_NAME@127.0.0.1" -p "$SSHD_PORT" -i "$d/id_ed25519" \
    --known-hosts "$d/known_hosts" -q -- curl -sS --max-time 10 "http://localhost:$WEB_PORT/"
echo "   (curl exited with $?)"
echo "== done: the server's log is in the demo's temporary directory, removed now"
