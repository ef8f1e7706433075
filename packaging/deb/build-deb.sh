#!/usr/bin/env bash
# Build the Debian package from a built Linux binary.
#   packaging/deb/build-deb.sh BINARY VERSION OUTDIR   (make dist does this)
# Prints the path of the .deb. Needs only dpkg-deb (no root, no fakeroot).
set -euo pipefail
bin=${1:?usage: build-deb.sh BINARY VERSION OUTDIR}
version=${2:?usage: build-deb.sh BINARY VERSION OUTDIR}
out=${3:?usage: build-deb.sh BINARY VERSION OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# A Debian version starts with a digit: a bare commit id becomes 0~git<id>.
debver=$(printf '%s' "$version" | sed 's/^v//; s/[^A-Za-z0-9.+~]/./g')
case $debver in [0-9]*) ;; *) debver="0~git$debver" ;; esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -D -m 0755 "$bin" "$stage/usr/bin/motcua-agent"
install -D -m 0644 "$here/motcua-agent.service" "$stage/lib/systemd/system/motcua-agent.service"
install -d -m 0750 "$stage/etc/motcua-agent"
# The packaged config is the counter example: every path in it is absolute or
# defaulted, so it passes `config check` as installed.
"$bin" config example counter > "$stage/etc/motcua-agent/site.yaml"
chmod 0640 "$stage/etc/motcua-agent/site.yaml"
install -D -m 0644 "$root/README.md" "$stage/usr/share/doc/motcua-agent/README.md"
if [ -f "$root/packaging/HUONG-DAN-CAI-DAT.md" ]; then
  install -m 0644 "$root/packaging/HUONG-DAN-CAI-DAT.md" "$stage/usr/share/doc/motcua-agent/"
fi
install -d "$stage/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$stage/DEBIAN/$s"; done
echo /etc/motcua-agent/site.yaml > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: motcua-agent
Version: $debver
Architecture: amd64
Maintainer: motcua-agent maintainers <motcua-agent@localhost>
Installed-Size: $size
Depends: libc6 (>= 2.34), libpcsclite1, pcscd, passwd
Section: misc
Priority: optional
Description: agent for the PC beside a public-service counter (Một cửa)
 Reads chip ID cards through PC/SC and QR codes from serial scanners, runs the
 ticket queue and the gates, keeps a durable local record in SQLite and pushes
 daily counters to the provincial hub. Runs as the systemd service
 motcua-agent with the config /etc/motcua-agent/site.yaml.
CONTROL
mkdir -p "$out"
deb="$out/motcua-agent_${debver}_amd64.deb"
dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" >/dev/null
echo "$deb"
