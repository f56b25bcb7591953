#!/usr/bin/env bash
# deploy.docs: the repository names no document that is not in it.
#  - every relative Markdown link in a *.md file resolves to a file or
#    directory of the repository (anchors ignored);
#  - every name of a Markdown file (a bare file name, or a path such as
#    docs/runbook.md) mentioned in any tracked text file is a file of the
#    repository: at that path from the root or from the mentioning file's
#    directory, or (a bare name) the name of one; a URL into this
#    repository on GitHub (.../service_state_exporter/blob/main/PATH) must
#    name a file here too, URLs elsewhere are not checked;
#  - the manual's pages exist: docs/configuration.md, metrics.md,
#    operations.md, troubleshooting.md, and README.md links to each.
# Needs git (the file list) or falls back to find.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard | grep -v '/node_modules/' | grep -v '^build')
else
  mapfile -t files < <(find . -type f -not -path './.git/*' -not -path '*/node_modules/*' -not -path './build*' | sed 's|^\./||')
fi
declare -A md_names=()
for f in "${files[@]}"; do
  [[ "$f" == *.md ]] && md_names["$(basename "$f")"]=1
done

problems=0
problem() { echo "FAIL: $*" >&2; problems=$((problems + 1)); }
exists() { # exists PATH FROM_DIR
  [[ -e "$1" || -e "$2/$1" ]]
}

for f in "${files[@]}"; do
  [[ -f "$f" ]] || continue
  grep -Iq . "$f" 2>/dev/null || continue # binary or empty
  dir="$(dirname "$f")"
  if [[ "$f" == *.md ]]; then
    while IFS= read -r link; do
      target="${link%%#*}"
      [[ -z "$target" ]] && continue
      exists "$target" "$dir" || problem "$f links to $link, which is not in the repository"
    done < <(grep -o '\](\([^)]*\))' "$f" | sed 's/^](//; s/)$//' | grep -Ev '^(https?:|mailto:|#)' || true)
  fi
  while IFS= read -r name; do
    case "$name" in
      //github.com/giantswarm/service_state_exporter/blob/*)
        name="${name#//github.com/giantswarm/service_state_exporter/blob/}"
        name="${name#*/}"
        [[ -e "$name" ]] || problem "$f links to $name on GitHub, which is not in the repository" ;;
      //*) ;; # a URL elsewhere
      */*) exists "$name" "$dir" || exists "${name#./}" "$dir" || problem "$f names $name, which is not in the repository" ;;
      *) [[ -n "${md_names[$name]:-}" ]] || problem "$f names $name, which is not in the repository" ;;
    esac
  done < <(grep -oE '[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b' "$f" | sort -u || true)
done

for page in configuration metrics operations troubleshooting; do
  md="docs/$page.""md"
  [[ -f "$md" ]] || problem "$md is missing"
  grep -qF "($md)" README.md || problem "README.md does not link $md"
done

[[ $problems -eq 0 ]] || fail "$problems problem(s) above"
echo "deploy.docs: OK (${#files[@]} files; every document named is in the repository)"
