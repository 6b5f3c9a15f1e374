#!/usr/bin/env bash
# Wine smoke test of the Windows collector: proves the windows/amd64 build starts, speaks valid
# NDJSON, reports HNS as unavailable cleanly and returns real data from the sources Wine can
# serve. Run by `make wine-smoke` (part of `make test`). Idempotent: every step is skipped when
# its result is already there.
#
#   1. install Debian's wine64 and the mingw-w64 cross compiler (root; skipped when present)
#   2. build a stand-in bcryptprimitives.dll: Go >= 1.22 needs ProcessPrng, which Wine 8 lacks
#   3. create a Wine prefix once (in the cache) and put the DLL into its system32
#   4. cross-build the collector as hack/embed-collector.sh does (CGO off, stripped)
#   5. go test -tags winesmoke ./hack/winesmoke/ runs it under Wine and checks the stream
#   6. the winsrc tests that start real child processes run under Wine too, so the collector's
#      os/exec runner (Windows command-line quoting, one pipe for output and errors, kills on
#      deadline) runs the fake inbox tools there
#
# Cache: ${WINNET_CACHE:-~/.cache/winnet-e2e}/wine (DLL and prefix). Headless: no DISPLAY needed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${WINNET_CACHE:-$HOME/.cache/winnet-e2e}/wine
prefix=$cache/prefix
out=$root/_output/wine
wine=${WINNET_WINE:-/usr/lib/wine/wine64}
mingw=x86_64-w64-mingw32-gcc
packages=(wine64 gcc-mingw-w64-x86-64-win32)

say() { echo "wine-smoke: $*" >&2; }
die() { say "$*"; exit 1; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

mkdir -p "$cache" "$out"

# 1. Packages.
if [[ -x $wine ]] && command -v "$mingw" >/dev/null; then
  say "wine64 and mingw-w64 already installed"
else
  if [[ $(id -u) -ne 0 ]]; then
    die "wine64 and gcc-mingw-w64-x86-64-win32 are missing and installing them needs root (this is uid $(id -u)); run as root (CI does) or: sudo apt-get install -y --no-install-recommends ${packages[*]}"
  fi
  command -v apt-get >/dev/null || die "wine64 and gcc-mingw-w64-x86-64-win32 are missing and there is no apt-get here; install them with this system's package manager (Debian names: ${packages[*]})"
  t=$(now)
  # Refresh the package lists only when they do not know the packages (a fresh container).
  for p in "${packages[@]}"; do
    policy=$(apt-cache policy "$p" 2>/dev/null || true)
    if [[ $policy != *"Candidate: "[0-9]* ]]; then
      say "apt lists do not know $p: apt-get update"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed; check the network and the apt sources"
      break
    fi
  done
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null ||
    die "apt-get install ${packages[*]} failed; see apt's messages above"
  say "installed ${packages[*]} in $(took "$t")"
fi
[[ -x $wine ]] || die "$wine is missing after installing wine64; this script expects Debian's layout (no wine wrapper, the 64-bit loader at $wine)"

# 2. Stand-in bcryptprimitives.dll. Rebuilt only when its source changes.
dll=$cache/bcryptprimitives.dll
src=$cache/bcryptprimitives.c
cat >"$src.new" <<'EOF'
/* Stand-in for Windows' bcryptprimitives.dll, which Wine 8 lacks. Go >= 1.22 calls
 * ProcessPrng from it at start and aborts without it. RtlGenRandom (SystemFunction036,
 * advapi32) fills the buffer from the system's random source. Test use only. */
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    len -= chunk;
  }
  return TRUE;
}
EOF
if [[ -f $dll ]] && cmp -s "$src" "$src.new"; then
  rm "$src.new"
else
  mv "$src.new" "$src"
  t=$(now)
  "$mingw" -shared -O2 -s -o "$dll.tmp" "$src" -ladvapi32 || die "building the stand-in bcryptprimitives.dll with $mingw failed"
  mv "$dll.tmp" "$dll"
  say "built $dll in $(took "$t")"
fi

# 3. Wine prefix, created once. A lock keeps two worktrees from initialising it at once.
export WINEPREFIX=$prefix WINEARCH=win64 WINEDLLOVERRIDES="mscoree,mshtml=" WINEDEBUG=${WINEDEBUG:-fixme-all}
unset DISPLAY WAYLAND_DISPLAY
exec 9>"$cache/.lock"
flock 9
if [[ ! -f $prefix/.winnet-ready ]]; then
  t=$(now)
  rm -rf "$prefix"
  timeout 300 "$wine" wineboot --init >"$cache/wineboot.log" 2>&1 ||
    die "wineboot --init failed or took over 5 minutes; its output is in $cache/wineboot.log"
  # wineboot returns before its server has flushed the registry: wait for it to exit.
  timeout 60 /usr/lib/wine/wineserver -w || true
  touch "$prefix/.winnet-ready"
  say "initialised the Wine prefix $prefix in $(took "$t")"
fi
sys32=$prefix/drive_c/windows/system32
[[ -d $sys32 ]] || die "the Wine prefix $prefix has no system32; delete $prefix and run again"
cmp -s "$dll" "$sys32/bcryptprimitives.dll" || cp "$dll" "$sys32/bcryptprimitives.dll"
flock -u 9

# 4. The collector, built as hack/embed-collector.sh builds the release one.
t=$(now)
version=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
exe=$out/winnet-collector.exe
(cd "$root" && CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go build -trimpath \
  -ldflags "-s -w -X main.version=$version" -o "$exe" ./cmd/winnet-collector)
say "built $exe ($(stat -c %s "$exe") bytes) in $(took "$t")"

# 5. Run it under Wine and check what it says.
t=$(now)
cd "$root"
go vet -tags winesmoke ./hack/winesmoke/
WINNET_WINE=$wine WINNET_WINE_EXE=$exe WINNET_MINGW=$mingw go test -tags winesmoke -count=1 -v -timeout 10m ./hack/winesmoke/ ||
  die "the collector failed the Wine smoke test (details above)"
say "smoke test passed in $(took "$t")"

# 6. The child-process runner's tests, built for Windows and run under Wine.
t=$(now)
tests=$out/winsrc.test.exe
(cd "$root" && CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go test -c -o "$tests" ./pkg/collector/winsrc/)
(cd "$out" && timeout 300 "$wine" "$tests" -test.run 'TestRunChild|TestToolRunner|TestToolSources' -test.count=1) ||
  die "the winsrc child-process tests failed under Wine (details above): the inbox-tool runner (pkg/collector/winsrc/child.go) misbehaves on Windows"
say "child-process runner tests passed under Wine in $(took "$t")"
