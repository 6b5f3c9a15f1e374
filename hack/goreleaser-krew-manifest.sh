#!/usr/bin/env bash
# Writes the krew manifest for a goreleaser release: `make dist`'s manifest (the same archive
# names, files and text, rendered from krew/winnet.yaml.tmpl) with each archive's SHA256 taken
# from goreleaser's checksums file instead. goreleaser packs the same binaries, but its tar and
# zip headers differ from hack/krewmanifest's, so make dist's SHA256s would not match the
# archives a goreleaser release uploads.
#   hack/goreleaser-krew-manifest.sh _output/dist/winnet.yaml \
#     _output/goreleaser/kubectl-winnet_v1.2.3_checksums.txt > winnet.yaml
# Fails when an archive the manifest names has no checksum.
set -euo pipefail
manifest=${1:?usage: goreleaser-krew-manifest.sh MANIFEST CHECKSUMS}
checksums=${2:?usage: goreleaser-krew-manifest.sh MANIFEST CHECKSUMS}
[ -f "$manifest" ] || { echo "goreleaser-krew-manifest: $manifest is missing; run make dist first" >&2; exit 1; }
[ -f "$checksums" ] || { echo "goreleaser-krew-manifest: $checksums is missing; run goreleaser first" >&2; exit 1; }
awk '
  FNR == NR { sum[$2] = $1; next }            # checksums: "<sha256>  <archive>"
  /^ *uri: / { n = split($2, p, "/"); archive = p[n] }
  /^ *sha256: / {
    if (!(archive in sum)) { printf "goreleaser-krew-manifest: no checksum for %s in %s\n", archive, CHECKSUMS > "/dev/stderr"; bad = 1; exit 1 }
    sub(/sha256: .*/, "sha256: " sum[archive]); archive = ""
  }
  { print }
  END { if (bad) exit 1 }
' CHECKSUMS="$checksums" "$checksums" "$manifest"
