#!/usr/bin/env bash
# The Debian package, built and installed into a Debian 12 (bookworm) root made with
# debootstrap, then checked there: the binary is the terminal build (linuxkms in, no demo),
# the kiosk user and its device groups, the configuration's owner and mode, the unit verified
# against the installed binary, `config check`, postinst leaving the unit disabled while the
# configuration is still the example and enabling it once it is filled in, and an upgrade
# keeping the terminal's file (a conffile).
#
#   scripts/deb-install-test.sh            build with the cheap `deb` profile, then test
#   DEB=path/to.deb scripts/deb-install-test.sh    test a package built elsewhere
#   scripts/deb-install-test.sh --root-only        only make the cached bare root
#
# Needs root (chroot, mount), debootstrap, cargo-deb (installed if missing) and, the first
# time, the Debian mirror of /etc/apt/sources.list*. The root with the package's
# dependencies is cached in target/deb-root/base and rebuilt only when they change; each
# run installs into a fresh copy of it (target/deb-root/run).
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=bookworm
ROOTS=target/deb-root
BASE=$ROOTS/base
RUN=$ROOTS/run
PROFILE=${DEB_PROFILE:-deb}

say() { echo "==> $*" >&2; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# The mirror this machine reaches: the first Debian URI of its apt sources.
mirror() {
  local uri
  uri=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | grep -oE 'https?://[^ ]+' | head -n 1 || true)
  echo "${DEB_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

# The bare bookworm root (debootstrap's minbase), cached apart from the package's
# dependencies: it needs no package, so `scripts/deb-install-test.sh --root-only` makes it
# while the package builds.
MINBASE=$ROOTS/minbase
make_minbase() {
  [ -f "$MINBASE/.renshe-minbase-$SUITE" ] && return 0
  say "debootstrap $SUITE (minbase) from $(mirror)"
  rm -rf "$MINBASE"
  mkdir -p "$ROOTS"
  local started=$SECONDS
  debootstrap --variant=minbase "$SUITE" "$MINBASE" "$(mirror)" >"$ROOTS/debootstrap.log" 2>&1 \
    || { tail -n 20 "$ROOTS/debootstrap.log" >&2; fail "debootstrap (log: $ROOTS/debootstrap.log)"; }
  touch "$MINBASE/.renshe-minbase-$SUITE"
  say "minbase ready in $((SECONDS - started)) s"
}
if [ "${1:-}" = --root-only ]; then make_minbase; exit 0; fi

# 1. The package.
if [ -z "${DEB:-}" ]; then
  command -v cargo-deb >/dev/null || cargo install --locked cargo-deb
  say "building the package (profile $PROFILE; releases use release)"
  started=$SECONDS
  DEB=$(cargo deb --profile "$PROFILE" | tail -n 1)
  say "built $DEB in $((SECONDS - started)) s"
fi
[ -f "$DEB" ] || fail "no package at $DEB"
say "$(dpkg-deb -f "$DEB" Package Version Architecture Installed-Size | tr '\n' ' ')"

# 2. A root with the package's dependencies (cached): Depends without versions, the first
# of each set of alternatives.
deps=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/ //g' | grep -v '^$' | sort -u | tr '\n' ' ')
stamp=$(echo "$SUITE $deps" | sha256sum | cut -c1-16)
if [ ! -f "$BASE/.renshe-deps-$stamp" ]; then
  make_minbase
  say "making the bookworm root with: $deps"
  rm -rf "$BASE"
  started=$SECONDS
  cp -a "$MINBASE" "$BASE"
  cp /etc/resolv.conf "$BASE/etc/resolv.conf"
  # Nothing starts services inside the root.
  printf '#!/bin/sh\nexit 101\n' > "$BASE/usr/sbin/policy-rc.d"
  chmod 755 "$BASE/usr/sbin/policy-rc.d"
  mount -t proc proc "$BASE/proc"
  # shellcheck disable=SC2086 # one package per word
  if ! chroot "$BASE" env DEBIAN_FRONTEND=noninteractive sh -c \
      "apt-get update -qq && apt-get install -y -qq --no-install-recommends $deps" >"$ROOTS/deps.log" 2>&1; then
    umount "$BASE/proc"
    tail -n 20 "$ROOTS/deps.log" >&2
    fail "installing the dependencies (log: $ROOTS/deps.log)"
  fi
  umount "$BASE/proc"
  chroot "$BASE" apt-get clean
  touch "$BASE/.renshe-deps-$stamp"
  say "root ready in $((SECONDS - started)) s ($(du -sh "$BASE" | cut -f1))"
fi

# 3. Install into a fresh copy.
rm -rf "$RUN"
cp -a "$BASE" "$RUN"
mount -t proc proc "$RUN/proc"
trap 'umount "$RUN/proc" 2>/dev/null || true' EXIT
cp "$DEB" "$RUN/tmp/renshe-kiosk.deb"
in_root() { chroot "$RUN" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

say "dpkg -i"
in_root dpkg -i /tmp/renshe-kiosk.deb >"$ROOTS/install.log" 2>&1 || { cat "$ROOTS/install.log" >&2; fail "dpkg -i"; }
grep -q "still the shipped example" "$ROOTS/install.log" \
  || { cat "$ROOTS/install.log" >&2; fail "postinst did not warn about the example configuration"; }

say "the binary: the terminal build"
version=$(in_root renshe-kiosk --version) || fail "renshe-kiosk --version"
echo "    $version"
if in_root renshe-kiosk backend-sim --help >/dev/null 2>&1; then
  fail "the packaged binary has the demo back end (built with the demo feature)"
fi
in_root sh -c 'ldd /usr/bin/renshe-kiosk' | grep -q 'libinput\.so' \
  || fail "the packaged binary does not link libinput (built without the linuxkms feature)"

say "config check of the installed configuration"
in_root renshe-kiosk config check /etc/renshe-kiosk/terminal.toml || fail "config check"

say "diag --json in the installed root: runs, names every part, exits 1 (no devices here)"
set +e
in_root renshe-kiosk --config /etc/renshe-kiosk/terminal.toml diag --json >"$ROOTS/diag.json" 2>"$ROOTS/diag.err"
diag_rc=$?
set -e
[ "$diag_rc" = 0 ] || [ "$diag_rc" = 1 ] || { cat "$ROOTS/diag.err" >&2; fail "diag exited $diag_rc"; }
python3 - "$ROOTS/diag.json" <<'PY' || fail "diag --json is not the documented report"
import json, sys
report = json.load(open(sys.argv[1]))
parts = {check["part"] for check in report["checks"]}
assert report["schema"] == 1, report["schema"]
for part in ("card-reader", "receipt-printer", "backend-route", "disk", "clock", "records"):
    assert part in parts, (part, sorted(parts))
print("    %d checks, status %s" % (len(report["checks"]), report["status"]))
PY

say "the kiosk user, its groups, the files"
groups=$(in_root id -nG kiosk) || fail "no kiosk user"
for group in dialout video render input audio; do
  echo " $groups " | grep -q " $group " || fail "kiosk is not in $group ($groups)"
done
[ "$(in_root stat -c '%U:%G %a' /etc/renshe-kiosk/terminal.toml)" = "root:kiosk 640" ] \
  || fail "terminal.toml is $(in_root stat -c '%U:%G %a' /etc/renshe-kiosk/terminal.toml)"
for file in /usr/lib/systemd/system/renshe-kiosk.service /usr/lib/sysusers.d/renshe-kiosk.conf \
            /usr/share/polkit-1/rules.d/60-renshe-kiosk-pcscd.rules \
            /etc/udev/rules.d/99-renshe-kiosk-touch.rules /usr/lib/systemd/logind.conf.d/renshe-kiosk.conf \
            /usr/share/renshe-kiosk/printers.toml; do
  [ -f "$RUN$file" ] || fail "$file is not installed"
done
in_root dpkg-query -W -f='${Conffiles}\n' renshe-kiosk | grep -q /etc/renshe-kiosk/terminal.toml \
  || fail "terminal.toml is not a conffile"

say "systemd-analyze verify, against the installed binary"
in_root systemd-analyze verify /usr/lib/systemd/system/renshe-kiosk.service 2>"$ROOTS/verify.log" \
  || { cat "$ROOTS/verify.log" >&2; fail "systemd-analyze verify"; }
[ ! -s "$ROOTS/verify.log" ] || { cat "$ROOTS/verify.log" >&2; fail "systemd-analyze verify warned"; }

say "postinst: disabled while the example is unchanged, enabled once filled in"
if in_root systemctl is-enabled renshe-kiosk.service >/dev/null 2>&1; then
  fail "the unit was enabled with the example configuration"
fi
in_root sed -i 's/^id = "CQ-500103-0042"/id = "CQ-500103-0777"/' /etc/renshe-kiosk/terminal.toml
in_root /var/lib/dpkg/info/renshe-kiosk.postinst configure >"$ROOTS/configure.log" 2>&1 \
  || { cat "$ROOTS/configure.log" >&2; fail "postinst configure"; }
[ "$(in_root systemctl is-enabled renshe-kiosk.service 2>/dev/null)" = enabled ] \
  || { cat "$ROOTS/configure.log" >&2; fail "the unit was not enabled with a filled-in configuration"; }

say "an upgrade (the same package again) keeps the terminal's configuration"
in_root dpkg -i --force-confold /tmp/renshe-kiosk.deb >"$ROOTS/upgrade.log" 2>&1 \
  || { cat "$ROOTS/upgrade.log" >&2; fail "reinstall"; }
grep -q '^id = "CQ-500103-0777"' "$RUN/etc/renshe-kiosk/terminal.toml" || fail "the upgrade replaced terminal.toml"
[ "$(in_root systemctl is-enabled renshe-kiosk.service 2>/dev/null)" = enabled ] || fail "the upgrade disabled the unit"

say "package install test passed ($(du -h "$DEB" | cut -f1) package)"
