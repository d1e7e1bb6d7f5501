#!/usr/bin/env bash
# Benchmark: auditing 16 hosts in parallel vs 1 host (target: <= 3x the wall time of one).
# 16 real sshd processes on 127.0.0.1 (one per "host"), each a separate SSH handshake,
# authentication and fact-gathering round trip. Also times OpenSSH's client running the same
# gathering script against one host, as the reference a user would otherwise type.
# Needs root (sshd) and /usr/sbin/sshd. Usage: benches/audit.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BIN=target/release/lbdoctor
[ -x "$BIN" ] || { cargo build --release -q 2>/dev/null || true; }
[ -x "$BIN" ] || BIN=target/debug/lbdoctor
[ -x "$BIN" ] || { echo "bench: build lbdoctor first" >&2; exit 2; }
D=$(mktemp -d /tmp/lbd-audit-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$D"; }
trap cleanup EXIT
mkdir -p /run/sshd
ssh-keygen -q -N '' -t ed25519 -f "$D/id"
cp "$D/id.pub" "$D/authorized_keys"
: > "$D/known_hosts"; : > "$D/config"
base=$((30000 + RANDOM % 20000))
for i in $(seq 1 16); do
  p=$((base + i))
  ssh-keygen -q -N '' -t ed25519 -f "$D/host$i"
  cat > "$D/sshd$i.conf" <<CFG
ListenAddress 127.0.0.1:$p
HostKey $D/host$i
AuthorizedKeysFile $D/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
UsePAM no
PidFile $D/sshd$i.pid
MaxStartups 100
LogLevel ERROR
CFG
  # Each host's sshd runs in its own mount namespace with Debian's stock root dotfiles: this
  # machine's /root/.bashrc starts pyenv (~120 ms of CPU) in every non-interactive bash that
  # sshd spawns, which a server in a real fleet does not do, and which would dominate the run.
  unshare -m --propagation private sh -c \
    "mount --bind /usr/share/base-files/dot.bashrc /root/.bashrc 2>/dev/null; exec /usr/sbin/sshd -D -f '$D/sshd$i.conf'" &
  pids+=($!)
  echo "[127.0.0.1]:$p $(cut -d' ' -f1,2 "$D/host$i.pub")" >> "$D/known_hosts"
  printf 'Host h%s\n  HostName 127.0.0.1\n  Port %s\n  User root\n  IdentityFile %s/id\n  UserKnownHostsFile %s/known_hosts\n' "$i" "$p" "$D" "$D" >> "$D/config"
done
for i in $(seq 1 16); do
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$((base + i))) 2>/dev/null && break; sleep 0.1; done
done
args=(--ssh-config "$D/config" --known-hosts "$D/known_hosts" --identity "$D/id" --vip 192.0.2.80)
hosts16=(); for i in $(seq 1 16); do hosts16+=(--host "h$i"); done
now() { date +%s.%N; }
best() { sort -n | sed -n 1p; }
one=(); sixteen=(); ossh=()
script=$(sed -n '/^pub const GATHER_SCRIPT: &str = r#"/,/^"#;/p' src/audit/facts.rs | sed '1d;$d')
for _ in $(seq "$RUNS"); do
  t=$(now); "$BIN" --format json audit --host h1 "${args[@]}" >/dev/null || [ $? -eq 1 ]; one+=("$(echo "$(now) - $t" | bc)")
  t=$(now); "$BIN" --format json audit "${hosts16[@]}" --jobs 16 "${args[@]}" >/dev/null || [ $? -eq 1 ]; sixteen+=("$(echo "$(now) - $t" | bc)")
  t=$(now); printf '%s\n' "$script" | ssh -F "$D/config" -o BatchMode=yes h1 sh -s >/dev/null; ossh+=("$(echo "$(now) - $t" | bc)")
done
b1=$(printf '%s\n' "${one[@]}" | best); b16=$(printf '%s\n' "${sixteen[@]}" | best); bo=$(printf '%s\n' "${ossh[@]}" | best)
echo "binary: $BIN, best of $RUNS runs, $(nproc) CPU(s)"
printf 'audit 1 host:                 %.3f s\n' "$b1"
printf 'audit 16 hosts (--jobs 16):   %.3f s\n' "$b16"
printf 'ssh + same script, 1 host:    %.3f s   (OpenSSH client reference)\n' "$bo"
printf 'ratio 16 hosts / 1 host:      %.2fx   (target <= 3x)\n' "$(echo "$b16 / $b1" | bc -l)"
printf 'ratio 1 host / OpenSSH:       %.2fx\n' "$(echo "$b1 / $bo" | bc -l)"
# Where the time goes: lbdoctor's own CPU for the 16-host run (the rest is sshd and the
# gathering scripts, which on real hosts run on 16 different machines, here on this one).
/usr/bin/time -f '%U %S %e' -o "$D/time" "$BIN" --format json audit "${hosts16[@]}" --jobs 16 "${args[@]}" >/dev/null || true
read -r u s e < <(tail -n 1 "$D/time")
printf 'lbdoctor CPU for 16 hosts:    %.2f s user+sys of %.2f s wall; load average now: %s\n' "$(echo "$u + $s" | bc)" "$e" "$(cut -d' ' -f1-3 /proc/loadavg)"
