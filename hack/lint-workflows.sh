#!/usr/bin/env bash
# Lints the GitHub Actions workflows (.github/workflows/*.yml) with actionlint: expressions,
# contexts, action inputs, runner labels, and, when shellcheck is installed, every bash `run:`
# block. Run by `make lint-workflows` (part of `make test`); nothing here runs the workflows.
#   1. builds actionlint from the Go module proxy (once, cached in _output/tools; seconds)
#   2. installs Debian's shellcheck when it is missing and this runs as root; otherwise lints
#      without it and says so
#   3. actionlint on every workflow
#   ACTIONLINT_VERSION=v1.7.12 hack/lint-workflows.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
actionlint_version=${ACTIONLINT_VERSION:-v1.7.12}
tools=$root/_output/tools/actionlint-$actionlint_version
actionlint=$tools/actionlint

say() { echo "lint-workflows: $*" >&2; }
die() { say "$*"; exit 1; }

cd "$root"
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
[ ${#workflows[@]} -gt 0 ] || die "no workflows in .github/workflows"

# 1. actionlint, built once per version.
if [ ! -x "$actionlint" ]; then
  say "building actionlint $actionlint_version from the Go module proxy (once, cached in $tools)"
  mkdir -p "$tools"
  (cd "$tools" && GOBIN=$tools GOFLAGS='' go install "github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version") ||
    die "go install github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version failed (messages above)"
fi

# 2. shellcheck, which actionlint runs on each bash run: block.
shellcheck_flag=()
if ! command -v shellcheck >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    # Refresh the package lists only when they do not know shellcheck (a fresh container).
    if [[ $(apt-cache policy shellcheck 2>/dev/null || true) != *"Candidate: "[0-9]* ]]; then
      say "apt lists do not know shellcheck: apt-get update"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
    fi
    say "installing Debian's shellcheck"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null ||
      die "apt-get install shellcheck failed (messages above)"
  else
    say "shellcheck is not installed and installing it needs root and apt-get: linting without it, so run: blocks go unchecked (install shellcheck to check them)"
    shellcheck_flag=(-shellcheck=)
  fi
fi

# 3. Lint. pyflakes is for python run: blocks, of which there are none.
say "actionlint $("$actionlint" -version | head -1)"
"$actionlint" -no-color -pyflakes= "${shellcheck_flag[@]}" "${workflows[@]}" ||
  die "actionlint found problems in the workflows (above)"
if [ ${#shellcheck_flag[@]} -eq 0 ]; then
  with=" with $(shellcheck --version | sed -n 's/^version: /shellcheck /p')"
else
  with=" (without shellcheck)"
fi
say "ok: ${#workflows[@]} workflows clean$with"
