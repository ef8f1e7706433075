#!/usr/bin/env bash
# Build a Debian package from a built Linux binary: motcua-agent (the counter PC) or
# motcua-hub (the province's server), named by the binary's file name.
#   packaging/deb/build-deb.sh BINARY VERSION OUTDIR   (make dist does this)
# Prints the path of the .deb. Needs only dpkg-deb (no root, no fakeroot).
# Each package's unit, settings and maintainer scripts are in packaging/deb/PACKAGE/.
set -euo pipefail
bin=${1:?usage: build-deb.sh BINARY VERSION OUTDIR}
version=${2:?usage: build-deb.sh BINARY VERSION OUTDIR}
out=${3:?usage: build-deb.sh BINARY VERSION OUTDIR}
pkg=$(basename "$bin" .exe)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
files="$here/$pkg"
[ -d "$files" ] || { echo "build-deb.sh: no package folder $files (want motcua-agent or motcua-hub)" >&2; exit 2; }
# A Debian version starts with a digit: a bare commit id becomes 0~git<id>.
debver=$(printf '%s' "$version" | sed 's/^v//; s/[^A-Za-z0-9.+~]/./g')
case $debver in [0-9]*) ;; *) debver="0~git$debver" ;; esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -D -m 0755 "$bin" "$stage/usr/bin/$pkg"
install -D -m 0644 "$files/$pkg.service" "$stage/lib/systemd/system/$pkg.service"
install -d -m 0750 "$stage/etc/$pkg"
case $pkg in
motcua-agent)
  # The packaged config is the counter example: every path in it is absolute or
  # defaulted, so it passes `config check` as installed.
  conffile=/etc/motcua-agent/site.yaml
  "$bin" config example counter > "$stage$conffile"
  install -D -m 0644 "$root/README.md" "$stage/usr/share/doc/$pkg/README.md"
  if [ -f "$root/HUONG-DAN-CAI-DAT.md" ]; then
    install -m 0644 "$root/HUONG-DAN-CAI-DAT.md" "$stage/usr/share/doc/$pkg/"
  fi
  depends="libc6 (>= 2.34), libpcsclite1, pcscd, passwd"
  summary="agent for the PC beside a public-service counter (Một cửa)"
  description=" Reads chip ID cards through PC/SC and QR codes from serial scanners, runs the
 ticket queue and the gates, keeps a durable local record in SQLite and pushes
 daily counters to the provincial hub. Runs as the systemd service
 motcua-agent with the config /etc/motcua-agent/site.yaml."
  ;;
motcua-hub)
  conffile=/etc/motcua-hub/hub.yaml
  install -m 0640 "$files/hub.yaml" "$stage$conffile"
  install -D -m 0644 "$root/sync/hub/README.md" "$stage/usr/share/doc/$pkg/README.md"
  install -m 0644 "$root/sync/PROTOCOL.md" "$stage/usr/share/doc/$pkg/"
  depends="libc6 (>= 2.34), passwd"
  summary="the provincial hub of motcua-agent: the province's one set of numbers"
  description=" Receives the signed counters that every counter PC pushes, keeps them on
 SQLite or PostgreSQL (several hubs on one database), serves the statisticians'
 page, reports and exports, and pushes the province's totals to a national hub.
 Runs as the systemd service motcua-hub with the settings /etc/motcua-hub/hub.yaml."
  ;;
esac
chmod 0640 "$stage$conffile"
install -d "$stage/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "$files/$s" "$stage/DEBIAN/$s"; done
echo "$conffile" > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: $pkg
Version: $debver
Architecture: amd64
Maintainer: motcua-agent maintainers <motcua-agent@localhost>
Installed-Size: $size
Depends: $depends
Section: misc
Priority: optional
Description: $summary
$description
CONTROL
mkdir -p "$out"
deb="$out/${pkg}_${debver}_amd64.deb"
dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" >/dev/null
echo "$deb"
