#!/usr/bin/env bash
# Tag a template release from CHANGELOG.md: the newest "## X.Y.Z (date)" heading becomes the
# annotated tag X.Y.Z, its section the tag message. Run from a clean checkout of main:
#   tools/release.sh            # tags HEAD; then: git push origin X.Y.Z
#   tools/release.sh --dry-run  # shows the tag and message only
# Copier's `copy`/`update` without --vcs-ref use the newest PEP 440 tag, so users get a release
# only once it is tagged; every command in README.md also works untagged (--vcs-ref HEAD).
set -euo pipefail
cd "$(dirname "$0")/.."
dry=0
[[ "${1:-}" == --dry-run ]] && dry=1
version="$(sed -n 's/^## \([0-9][0-9.]*[0-9a-z.]*\) (.*$/\1/p' CHANGELOG.md | head -n 1)"
[[ -n "${version}" ]] || { echo "release: no '## X.Y.Z (date)' heading in CHANGELOG.md" >&2; exit 1; }
message="$(awk -v v="${version}" '$0 ~ "^## "v" " {on=1} on && /^## / && $0 !~ "^## "v" " {exit} on {print}' CHANGELOG.md)"
if git rev-parse -q --verify "refs/tags/${version}" >/dev/null; then
  echo "release: tag ${version} exists already; add a new section to CHANGELOG.md first" >&2
  exit 1
fi
if [[ "${dry}" == 1 ]]; then
  printf 'would tag %s at %s with:\n%s\n' "${version}" "$(git rev-parse --short HEAD)" "${message}"
  exit 0
fi
[[ -z "$(git status --porcelain)" ]] || { echo "release: the checkout has uncommitted changes" >&2; exit 1; }
git tag -a "${version}" -m "${message}"
echo "release: tagged ${version} at $(git rev-parse --short HEAD); publish with: git push origin ${version}"
