#!/usr/bin/env bash
# Cross-builds the node collector and places it, as the gzipped tar stream the plugin uploads
# (winnet/winnet-collector.exe, which nodecmd.UploadAndRun extracts with tar.exe -x -z), where
# pkg/embedded embeds it. The archive is reproducible: fixed owner, mode, order and time (the
# commit's), and gzip -n.
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
# The entry is always winnet/winnet-collector.exe, the Linux build too: the simulated node runs
# it under that Windows name.
mkdir -p "$tmp/tree/winnet"
mv "$tmp/$exe" "$tmp/tree/winnet/winnet-collector.exe"
mtime=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
tar --format=ustar --sort=name --owner=0 --group=0 --numeric-owner --mode=u=rwX,go=rX --mtime="@$mtime" \
  -C "$tmp/tree" -cf - winnet | gzip -9 -n > "$tmp/winnet-collector.tar.gz"
sha=$(sha256sum "$tmp/tree/winnet/winnet-collector.exe" | cut -d' ' -f1)
size=$(stat -c %s "$tmp/tree/winnet/winnet-collector.exe")
printf '{"version":"%s","os":"%s","arch":"amd64","sha256":"%s","size":%s}\n' \
  "$version" "$goos" "$sha" "$size" > "$tmp/winnet-collector.json"
# Replace both files only when both are complete, so an interrupted build leaves no half pair.
mkdir -p "$out"
rm -f "$out/winnet-collector.gz" # the raw gzip older builds embedded
mv "$tmp/winnet-collector.tar.gz" "$out/winnet-collector.tar.gz"
mv "$tmp/winnet-collector.json" "$out/winnet-collector.json"
echo "embedded $goos collector $version: $size bytes, $(stat -c %s "$out/winnet-collector.tar.gz") bytes as the gzipped tar stream it is uploaded as" >&2
