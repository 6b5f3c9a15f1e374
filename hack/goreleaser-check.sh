#!/usr/bin/env bash
# Proves .goreleaser.yaml and `make dist` agree, so a goreleaser release serves what krew's
# manifest points at. Run by `make goreleaser-check` (after make dist; part of `make test`):
#   1. builds goreleaser from the Go module proxy (once, cached in _output/tools; ~5 min cold)
#   2. goreleaser check: the config parses and uses nothing deprecated
#   3. a snapshot release (goreleaser release --snapshot --clean --skip=publish) with make
#      dist's version, into a temp dist folder: no network, nothing published
#   4. the same archive names as make dist's manifest names, the same files in each, and the
#      same bytes in each file (both builds are reproducible: -trimpath, the same ldflags and
#      the same embedded collector); a checksums file covering every archive
#   5. the krew manifest for those archives (hack/goreleaser-krew-manifest.sh: make dist's,
#      with goreleaser's SHA256s) passes krew's validator, and the real krew installs this
#      platform's goreleaser archive with it
#   GORELEASER_VERSION=v2.17.0 KREW_VERSION=v0.4.3 hack/goreleaser-check.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
goreleaser_version=${GORELEASER_VERSION:-v2.17.0}
krew_version=${KREW_VERSION:-v0.4.3}
dist=$root/_output/dist
manifest=$dist/winnet.yaml
tools=$root/_output/tools/goreleaser-$goreleaser_version
goreleaser=$tools/goreleaser

say() { echo "goreleaser-check: $*" >&2; }
die() { say "$*"; exit 1; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

[ -f "$manifest" ] || die "$manifest is missing; run make dist first"
version=$(grep -m1 '^  version:' "$manifest" | awk '{print $2}')
[ -n "$version" ] || die "$manifest names no spec.version"

# 1. goreleaser, built once per version.
if [ ! -x "$goreleaser" ]; then
  say "building goreleaser $goreleaser_version from the Go module proxy (once, cached in $tools; about 5 minutes cold)"
  t=$(now)
  mkdir -p "$tools"
  (cd "$tools" && GOBIN=$tools GOFLAGS='' go install "github.com/goreleaser/goreleaser/v2@$goreleaser_version") ||
    die "go install github.com/goreleaser/goreleaser/v2@$goreleaser_version failed (messages above)"
  say "built goreleaser in $(took "$t")"
fi

# 2. The config as it is.
cd "$root"
checked=$("$goreleaser" check --config .goreleaser.yaml 2>&1) || {
  echo "$checked" | sed 's/^/  /' >&2
  die "goreleaser check rejects .goreleaser.yaml (messages above)"
}
say "goreleaser $goreleaser_version check: .goreleaser.yaml is valid"

# 3. A snapshot release into a temp folder: the config with only its dist: line changed.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/dist
{ grep -v '^dist:' .goreleaser.yaml; echo "dist: $out"; } >"$tmp/goreleaser.yaml"
# goreleaser reads the commit (and so its dates) only when the repository has a remote; a
# local clone may have none. Name the real one through git's environment (no network: only
# `git ls-remote --get-url` reads it), leaving .git/config alone.
if [ -z "$(git remote)" ]; then
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/kubectl-winnet/winnet.git
fi
# goreleaser's before hook rebuilds the embedded collector; keep make dist's to tell whether
# the two builds embedded the same one.
embedded=$root/pkg/embedded/bin/winnet-collector.tar.gz
[ -f "$embedded" ] && cp "$embedded" "$tmp/collector-make-dist.tar.gz"
t=$(now)
VERSION=$version "$goreleaser" release --snapshot --clean --skip=publish --config "$tmp/goreleaser.yaml" >"$tmp/release.log" 2>&1 || {
  sed 's/^/  /' "$tmp/release.log" >&2
  die "goreleaser release --snapshot failed (its log above)"
}
say "snapshot release $version in $(took "$t")"

# 4. Archives: names, entries, bytes.
fail=0
mismatch() { say "MISMATCH: $*"; fail=1; }
want=$(grep -E '^ *uri: ' "$manifest" | sed 's|.*/||' | sort)
got=$(find "$out" -maxdepth 1 -type f \( -name '*.tar.gz' -o -name '*.zip' \) -printf '%f\n' | sort)
if [ "$want" != "$got" ]; then
  mismatch "archive names differ (make dist's manifest vs goreleaser):"
  diff <(echo "$want") <(echo "$got") | sed 's/^/  /' >&2 || true
fi
unpack() { # ARCHIVE DIR
  mkdir -p "$2"
  case $1 in
    *.zip)
      if command -v unzip >/dev/null; then unzip -q "$1" -d "$2"
      else python3 -m zipfile -e "$1" "$2"; fi ;;
    *) tar -xzf "$1" -C "$2" ;;
  esac
}
changed=$(git ls-files -mo --exclude-standard -- '*.go' go.mod go.sum | while read -r f; do [ "$f" -nt "$manifest" ] && echo "$f"; done || true)
for a in $want; do
  [ -f "$dist/$a" ] || { mismatch "make dist's $a is missing from $dist: run make dist"; continue; }
  [ -f "$out/$a" ] || continue # reported above
  unpack "$dist/$a" "$tmp/make/$a"
  unpack "$out/$a" "$tmp/goreleaser/$a"
  wantf=$(cd "$tmp/make/$a" && find . -type f | sort)
  gotf=$(cd "$tmp/goreleaser/$a" && find . -type f | sort)
  if [ "$wantf" != "$gotf" ]; then
    mismatch "$a holds other files (make dist vs goreleaser):"
    diff <(echo "$wantf") <(echo "$gotf") | sed 's/^/  /' >&2 || true
    continue
  fi
  for f in $wantf; do
    cmp -s "$tmp/make/$a/$f" "$tmp/goreleaser/$a/$f" ||
      mismatch "$a: ${f#./} differs in bytes between make dist and goreleaser (flags, ldflags or the embedded collector differ)"
  done
done
if [ "$fail" -ne 0 ] && ! cmp -s "$embedded" "$tmp/collector-make-dist.tar.gz"; then
  say "note: goreleaser's before hook built another collector archive than the one make dist embedded (make dist reuses pkg/embedded/bin when present: built at another commit or version?); run make collector dist goreleaser-check"
fi
if [ "$fail" -ne 0 ] && [ -n "$changed" ]; then
  say "note: these files changed after make dist wrote $manifest, which alone makes the binaries differ; run make goreleaser-check again on a still tree:"
  echo "$changed" | sed 's/^/  /' >&2
fi
sums=$out/kubectl-winnet_${version}_checksums.txt
if [ ! -f "$sums" ]; then
  mismatch "goreleaser wrote no checksums file $(basename "$sums")"
else
  [ "$(awk '{print $2}' "$sums" | sort)" = "$got" ] || mismatch "$(basename "$sums") does not list exactly the archives"
  (cd "$out" && sha256sum --quiet -c "$sums") || mismatch "$(basename "$sums") does not match the archives"
fi
[ "$fail" -eq 0 ] || die "goreleaser and make dist disagree (above); keep .goreleaser.yaml and hack/krew-manifest.sh in step"
say "ok: $(echo "$want" | wc -l) archives, each with the same names and bytes as make dist's, and a checksums file"

# 5. The krew manifest a goreleaser release needs, checked by krew itself.
hack/goreleaser-krew-manifest.sh "$manifest" "$sums" >"$tmp/winnet.yaml"
go run "sigs.k8s.io/krew/cmd/validate-krew-manifest@$krew_version" -manifest "$tmp/winnet.yaml" -skip-install \
  -logtostderr=false -stderrthreshold=ERROR || die "krew's validator rejects the manifest for goreleaser's archives ($tmp/winnet.yaml)"
os=$(go env GOOS) arch=$(go env GOARCH)
archive=$out/kubectl-winnet_${version}_${os}_${arch}.tar.gz
krew_tools=$root/_output/tools/krew-$krew_version
if [ ! -x "$krew_tools/krew" ]; then
  say "building krew $krew_version (once, cached in $krew_tools)"
  GOBIN=$krew_tools go install "sigs.k8s.io/krew/cmd/krew@$krew_version"
fi
export KREW_ROOT=$tmp/krew
mkdir -p "$KREW_ROOT/index/default/plugins" && git -C "$KREW_ROOT/index/default" init -q
"$krew_tools/krew" install --manifest="$tmp/winnet.yaml" --archive="$archive" >"$tmp/krew.log" 2>&1 || {
  sed 's/^/  krew: /' "$tmp/krew.log" >&2
  die "krew could not install goreleaser's $(basename "$archive") with its manifest"
}
ran=$("$KREW_ROOT/bin/kubectl-winnet" version)
case $ran in
  *"$version"*) ;;
  *) die "the krew-installed goreleaser build printed \"$ran\", want it to name $version" ;;
esac
say "ok: krew $krew_version installed goreleaser's $(basename "$archive") with its manifest; it prints: ${ran%%$'\n'*}"
