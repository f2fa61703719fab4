#!/usr/bin/env bash
# Start the kiosk in a real window (Xvfb if DISPLAY is unset) and print its memory
# (Pss, Rss, Private_Dirty, Anonymous from /proc/PID/smaps_rollup) at points in time,
# then a breakdown of /proc/PID/smaps by mapping kind.
#
#   scripts/kiosk-pss.sh [--empty] [--binary PATH] [--data DIR] [--seconds N] [--wrap CMD]
#
# --empty     start on an empty data directory (the first catalogue sync)
# --binary    the kiosk binary (default: target/release/renshe-kiosk)
# --data      the data directory (default: a fresh one under /tmp)
# --seconds   how long to sample (default 20)
# --wrap      a command to run the kiosk under (e.g. "heaptrack -o /tmp/hp"); the sampled
#             PID is then the kiosk's, found as the wrapper's child
# Environment passed to the kiosk as it is (MALLOC_ARENA_MAX, MALLOC_TRIM_THRESHOLD_, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=target/release/renshe-kiosk data="" empty=0 seconds=20 wrap="" port=18377
while [ $# -gt 0 ]; do
  case "$1" in
    --empty) empty=1 ;;
    --binary) binary=$2; shift ;;
    --data) data=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --wrap) wrap=$2; shift ;;
    --port) port=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
work=$(mktemp -d /tmp/kiosk-pss.XXXXXX)
[ -n "$data" ] || data=$work/data
[ "$empty" = 1 ] && rm -rf "$data"
sed -e "s#^directory = .*#directory = \"$data\"#" -e "s/18333/$port/g" \
  kiosk-config/demo.toml > "$work/demo.toml"

xvfb=""
if [ -z "${DISPLAY:-}" ]; then
  for n in $(seq 70 90); do [ -e /tmp/.X11-unix/X$n ] || break; done
  Xvfb :$n -screen 0 1080x1920x24 >"$work/xvfb.log" 2>&1 & xvfb=$!
  export DISPLAY=:$n
  for _ in $(seq 50); do [ -S /tmp/.X11-unix/X$n ] && break; sleep 0.1; done
fi
# shellcheck disable=SC2086 # the wrapper is words
RUST_LOG=${RUST_LOG:-info} $wrap "$binary" --config "$work/demo.toml" run >"$work/kiosk.log" 2>&1 &
top=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$top" 2>/dev/null || true
            [ -z "$xvfb" ] || kill "$xvfb" 2>/dev/null || true; }
trap cleanup EXIT
pid=$top
if [ -n "$wrap" ]; then  # the kiosk is the wrapper's descendant named like the binary
  for _ in $(seq 100); do
    child=$(pgrep -n -f "^$binary --config $work/demo.toml" || true)
    [ -n "$child" ] && [ "$child" != "$top" ] && { pid=$child; break; }
    sleep 0.1
  done
fi
rollup() {  # Pss Rss Private_Dirty Anonymous in MB
  awk '/^(Pss|Rss|Private_Dirty|Anonymous):/ {v[$1]=$2}
       END {printf "Pss %.1f  Rss %.1f  Private_Dirty %.1f  Anonymous %.1f MB\n",
            v["Pss:"]/1024, v["Rss:"]/1024, v["Private_Dirty:"]/1024, v["Anonymous:"]/1024}' \
    "/proc/$pid/smaps_rollup"
}
echo "pid $pid, data $data, log $work/kiosk.log"
for s in $(seq "$seconds"); do
  sleep 1
  [ -e "/proc/$pid" ] || { echo "the kiosk exited"; cat "$work/kiosk.log"; exit 1; }
  printf '%3ds  threads %s  ' "$s" "$(ls /proc/$pid/task | wc -l)"
  rollup
done
grep -a -m1 'catalogue synced' "$work/kiosk.log" || true
echo "--- /proc/$pid/smaps by mapping (Pss MB, Rss MB)"
awk '
  /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anon]"
    if (name ~ /\.so/) { sub(/.*\//, "", name); name = "so:" name }
    else if (name ~ /\.(ttf|ttc|otf)$/) name = "font:" name
    else if (name ~ /SYSV|shm/) name = "shm:" name
    next }
  /^Pss:/ { pss[name] += $2 }
  /^Rss:/ { rss[name] += $2 }
  END { for (n in pss) if (pss[n] > 256) printf "%8.1f %8.1f  %s\n", pss[n]/1024, rss[n]/1024, n }
' "/proc/$pid/smaps" | sort -rn | head -25
