#!/usr/bin/env bash
# Make a wine prefix that can run motcua-agent.exe (Go 1.22+) on Debian's wine 8:
# build the ProcessPrng shim (processprng.c), boot the prefix, put the shim in
# system32 and tell wine to prefer it over its own bcryptprimitives.dll.
#
#   packaging/windows/wine-prefix.sh PREFIX
#   WINEPREFIX=PREFIX WINEDEBUG=-all wine bin/motcua-agent.exe version
#
# Test rigs only: Windows 10/11 have ProcessPrng and need nothing of this.
set -euo pipefail
prefix=${1:?usage: wine-prefix.sh PREFIX}
here=$(cd "$(dirname "$0")" && pwd)
for tool in wine wineboot x86_64-w64-mingw32-gcc; do
  command -v "$tool" >/dev/null || { echo "wine-prefix.sh: $tool is missing (Debian packages wine, wine64, gcc-mingw-w64-x86-64)" >&2; exit 1; }
done
mkdir -p "$prefix"
export WINEPREFIX=$(cd "$prefix" && pwd) WINEDEBUG=-all
# No Mono or Gecko download prompts while booting a headless prefix.
WINEDLLOVERRIDES="mscoree,mshtml=" wineboot -i >/dev/null 2>&1
sys32=$WINEPREFIX/drive_c/windows/system32
x86_64-w64-mingw32-gcc -shared -O2 -s -Wall -o "$sys32/bcryptprimitives.dll" "$here/processprng.c" -ladvapi32
# The override in the prefix's registry, so a plain `wine X.exe` (and services that
# wine starts) picks the shim without WINEDLLOVERRIDES.
wine reg add 'HKCU\Software\Wine\DllOverrides' /v bcryptprimitives /d native /f >/dev/null 2>&1
# Let the prefix shut down completely: a command started while its services are still
# stopping gets a second services.exe that knows nothing of the first one's changes.
wineserver -w
echo "$WINEPREFIX"
