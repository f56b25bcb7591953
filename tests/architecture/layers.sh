#!/usr/bin/env bash
# Checks the layering of src/ and include/sse/ (docs/architecture.md): a
# file of a layer includes headers of its own layer and of the layers below
# only. Prints every include that breaks the rule; exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/../.."

declare -A allowed=(
  [util]="util"
  [core]="util core"
  [config]="util core config"
  [http]="util core config http"
  [probe]="util core config http probe"
  [discovery]="util core config http discovery"
  [web]="util core config web"
  [app]="util core config http probe discovery web app"
)

bad=0
checked=0
for layer in "${!allowed[@]}"; do
  for file in src/"$layer"/*.cc include/sse/"$layer"/*.h; do
    [[ -e "$file" ]] || continue
    checked=$((checked + 1))
    while IFS=: read -r line target; do
      case " ${allowed[$layer]} " in
        *" $target "*) ;;
        *)
          echo "$file:$line: $layer includes sse/$target/ (a layer above or beside it)"
          bad=1
          ;;
      esac
    done < <(grep -n -o '#include "sse/[a-z_]*/' "$file" |
      sed -E 's|^([0-9]+):#include "sse/([a-z_]+)/$|\1:\2|')
  done
done
# Every source file belongs to a layer.
for file in src/*.cc; do
  [[ "$file" == src/main.cc ]] && continue
  echo "$file: not in a layer folder"
  bad=1
done
echo "layers: $checked files checked"
exit "$bad"
