#!/usr/bin/env bash
# Builds kubectl-winnet for every platform krew serves, packs the release archives and writes
# the krew manifest with their real SHA256s: _output/dist/winnet.yaml.
#   VERSION=v0.1.0 hack/krew-manifest.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${VERSION:-$(git -C "$root" describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo "v0.0.0-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo dev)")}
dist=$root/_output/dist
# The commit and its time (Unix seconds), not the build's: archives stay reproducible, and
# goreleaser stamps the same ({{ .FullCommit }}, {{ .CommitTimestamp }}).
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
date=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
test -f "$root/pkg/embedded/bin/winnet-collector.tar.gz" || VERSION=$version "$root/hack/embed-collector.sh" windows
for p in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
  os=${p%/*} arch=${p#*/} ext=""
  [ "$os" = windows ] && ext=.exe
  for c in kubectl-winnet kubectl_complete-winnet; do
    (cd "$root" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
      -ldflags "-s -w -X github.com/kubectl-winnet/winnet/pkg/cmd.Version=$version -X github.com/kubectl-winnet/winnet/pkg/cmd.Commit=$commit -X github.com/kubectl-winnet/winnet/pkg/cmd.BuildDate=$date" \
      -o "$dist/${os}_${arch}/$c$ext" ./cmd/$c)
  done
  cp "$root/LICENSE" "$dist/${os}_${arch}/"
done
cd "$root" && go run ./hack/krewmanifest -version "$version" -dist "$dist" -template krew/winnet.yaml.tmpl
