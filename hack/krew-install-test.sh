#!/usr/bin/env bash
# Installs the locally built plugin with the real krew binary (built from sigs.k8s.io/krew at
# KREW_VERSION) from the archive and manifest `make dist` wrote, into a throwaway KREW_ROOT,
# then runs `kubectl winnet version` through kubectl, as a user would after `kubectl krew
# install winnet`. Needs no network beyond the Go module proxy: the archive is local.
#   hack/krew-install-test.sh            (after make dist)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dist=$root/_output/dist
krew_version=${KREW_VERSION:-v0.4.3}
os=$(go env GOOS) arch=$(go env GOARCH)
manifest=$dist/winnet.yaml
[ -f "$manifest" ] || { echo "krew-install-test: $manifest is missing; run make dist first" >&2; exit 1; }
want=$(grep -m1 '^  version:' "$manifest" | awk '{print $2}')
archive=$dist/kubectl-winnet_${want}_${os}_${arch}.tar.gz
[ -f "$archive" ] || { echo "krew-install-test: $archive is missing; run make dist first" >&2; exit 1; }

tools=$root/_output/tools/krew-$krew_version
if [ ! -x "$tools/krew" ]; then
  echo "krew-install-test: building krew $krew_version (once, cached in $tools)"
  GOBIN=$tools go install "sigs.k8s.io/krew/cmd/krew@$krew_version"
fi

krew_root=$(mktemp -d)
trap 'rm -rf "$krew_root"' EXIT
export KREW_ROOT=$krew_root
# krew refuses to install with no index; an empty default index is what a fresh
# `krew index add` would make, without cloning from GitHub.
mkdir -p "$krew_root/index/default/plugins" && git -C "$krew_root/index/default" init -q
"$tools/krew" install --manifest="$manifest" --archive="$archive" 2>&1 | sed 's/^/  krew: /'

[ -x "$krew_root/bin/kubectl-winnet" ] || { echo "krew-install-test: krew did not link kubectl-winnet into $krew_root/bin" >&2; exit 1; }
out=$(PATH="$krew_root/bin:$PATH" kubectl winnet version)
echo "  kubectl winnet version: $out"
commit=$(git -C "$(dirname "$0")/.." rev-parse HEAD)
case "$out" in
  *"$want"*"commit $commit of "*) echo "krew-install-test: ok (installed $want with krew $krew_version)";;
  *) echo "krew-install-test: kubectl winnet version printed \"$out\", want it to name $want and commit $commit" >&2; exit 1;;
esac
