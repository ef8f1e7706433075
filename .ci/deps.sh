#!/usr/bin/env bash
# Install the Debian packages the agent needs, when some are missing.
#   .ci/deps.sh run    what `make run` needs: build with cgo, pcscd, the demo's devices
#   .ci/deps.sh test   what `make test` and CI need: the above and every test's tools
# As root it runs apt-get; otherwise sudo (asking for the password on a terminal).
# When neither works it prints one line saying what to install and carries on (the
# tests that need a missing tool skip with a message); CI (root) fails instead.
set -euo pipefail
RUN_PKGS="gcc libc6-dev libpcsclite-dev pcscd vsmartcard-vpcd socat espeak-ng"
TEST_PKGS="$RUN_PKGS qrencode zbar-tools zxing-cpp-tools imagemagick tesseract-ocr
  tesseract-ocr-vie chromium gcc-mingw-w64-x86-64 sox fonts-dejavu-core vsmartcard-vpicc
  python3-virtualsmartcard python3-pycryptodome python3-pyscard python3-pil openssl
  wine wine64 nsis postgresql xvfb python3-openpyxl"
case ${1:-} in
  run) pkgs=$RUN_PKGS ;;
  test) pkgs=$TEST_PKGS ;;
  *) echo "usage: .ci/deps.sh run|test" >&2; exit 2 ;;
esac
pkgs=${DEPS_PKGS:-$pkgs} # the tests of this script name packages of their own
missing=$(for p in $pkgs; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
done | tr '\n' ' ')
missing=${missing% }
[ -z "$missing" ] && exit 0

apt() {
  "$@" apt-get update -qq >/tmp/motcua-apt.log 2>&1 &&
    DEBIAN_FRONTEND=noninteractive "$@" apt-get install -y -qq --no-install-recommends $missing >>/tmp/motcua-apt.log 2>&1
}
if [ "$(id -u)" = 0 ]; then
  echo "installing Debian packages: $missing"
  apt env || { tail -30 /tmp/motcua-apt.log; exit 1; }
  exit 0
fi
if command -v sudo >/dev/null; then
  if [ -t 0 ]; then sudo_cmd="sudo"; else sudo_cmd="sudo -n"; fi
  echo "installing Debian packages with sudo: $missing"
  if apt $sudo_cmd env 2>/dev/null; then exit 0; fi
fi
echo "motcua-agent: missing Debian packages, not installed (need root or sudo): run 'sudo apt-get install $missing'; what needs them will skip or fail with a message"
exit 0
