#!/usr/bin/env bash
# Cross-builds the node collector and places it, gzipped, where pkg/embedded embeds it.
#   hack/embed-collector.sh windows   -> pkg/embedded/bin/        (release: windows/amd64)
#   hack/embed-collector.sh linux     -> pkg/embedded/bin-linux/  (e2e: run by the simulated node)
# VERSION sets the collector's version (default: git describe).
set -euo pipefail
goos=${1:?usage: embed-collector.sh windows|linux}
root=$(cd "$(dirname "$0")/.." && pwd)
version=${VERSION:-$(git -C "$root" describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo "v0.0.0-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo dev)")}
case $goos in
  windows) out=$root/pkg/embedded/bin exe=winnet-collector.exe ;;
  linux) out=$root/pkg/embedded/bin-linux exe=winnet-collector ;;
  *) echo "embed-collector.sh: unknown GOOS $goos (want windows or linux)" >&2; exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && CGO_ENABLED=0 GOOS=$goos GOARCH=amd64 go build -trimpath \
  -ldflags "-s -w -X main.version=$version" -o "$tmp/$exe" ./cmd/winnet-collector)
gzip -9 -n -c "$tmp/$exe" > "$tmp/winnet-collector.gz"
sha=$(sha256sum "$tmp/$exe" | cut -d' ' -f1)
size=$(stat -c %s "$tmp/$exe")
printf '{"version":"%s","os":"%s","arch":"amd64","sha256":"%s","size":%s}\n' \
  "$version" "$goos" "$sha" "$size" > "$tmp/winnet-collector.json"
# Replace both files only when both are complete, so an interrupted build leaves no half pair.
mkdir -p "$out"
mv "$tmp/winnet-collector.gz" "$out/winnet-collector.gz"
mv "$tmp/winnet-collector.json" "$out/winnet-collector.json"
echo "embedded $goos collector $version: $(stat -c %s "$out/winnet-collector.gz") bytes gzipped" >&2
