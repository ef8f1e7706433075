#!/usr/bin/env bash
# Build motcua-agent-setup.exe with NSIS from a built Windows binary.
#   packaging/windows/build-installer.sh EXE VERSION OUTDIR   (make dist does this)
# NSIS_COMPRESSOR=zlib builds faster and larger (the tests use it).
# Prints the installer's path.
set -euo pipefail
exe=${1:?usage: build-installer.sh EXE VERSION OUTDIR}
version=${2:?usage: build-installer.sh EXE VERSION OUTDIR}
out=${3:?usage: build-installer.sh EXE VERSION OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
command -v makensis >/dev/null || { echo "build-installer.sh: makensis is missing (Debian package nsis)" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
exe=$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")
# The example a PC gets when installed without /CONFIG, in its Windows form.
example=$(mktemp --suffix=.yaml)
trap 'rm -f "$example"' EXIT
(cd "$root" && go run ./packaging/windows/example counter) > "$example"
makensis -V2 -INPUTCHARSET UTF8 \
  "-DAGENT_EXE=$exe" "-DGUIDE=$root/HUONG-DAN-CAI-DAT.md" "-DEXAMPLE=$example" "-DVERSION=$version" \
  "-DOUTFILE=$out/motcua-agent-setup.exe" ${NSIS_COMPRESSOR:+"-DCOMPRESSOR=$NSIS_COMPRESSOR"} "$here/motcua-agent.nsi" >&2
echo "$out/motcua-agent-setup.exe"
