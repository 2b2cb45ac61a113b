#!/usr/bin/env bash
# Fails when a module of src/ uses a module its layer may not depend on.
#
# The allowed edges are the layer map of src/lib.rs, lowest layer first. Test code may reach
# anywhere (files named *tests.rs, test_support.rs or testing.rs, files under a tests/
# folder, and the inline `mod tests` block that closes a file); comments are not code.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [limits]=""
  [clock]=""
  [logging]=""
  [wire]="limits logging"
  [config]="limits wire logging"
  [storage]="clock limits wire logging"
  [acl]="wire config logging"
  [net]="limits wire logging"
  [client]="limits wire config net logging"
  [namesrv]="clock limits wire config net acl logging"
  [ha]="clock limits wire config storage net client logging"
  [broker]="clock limits wire config storage client acl logging"
  [dispatch]="clock limits wire config storage net broker acl logging"
  [admin]="limits wire config logging"
  [metrics]="limits wire config broker logging"
  [server]="clock limits wire config storage net client namesrv ha broker dispatch metrics acl logging"
)

status=0
for module in "${!allowed[@]}"; do
  files=()
  [ -f "src/$module.rs" ] && files+=("src/$module.rs")
  [ -d "src/$module" ] && while IFS= read -r f; do files+=("$f"); done \
    < <(find "src/$module" -name '*.rs' ! -name '*tests.rs' ! -name 'test_support.rs' \
          ! -name 'testing.rs' ! -path '*/tests/*' | sort)
  for file in "${files[@]}"; do
    # Code lines up to the closing test module, with comments dropped.
    used=$(awk '/^#\[cfg\(test\)\]$/ { held = 1; next }
                held && /^mod [a-z_]+ \{$/ { exit }
                { held = 0; sub(/\/\/.*/, ""); print }' "$file" |
      grep -oE '\bcrate::[a-z_]+' | sed 's/^crate:://' | sort -u || true)
    for target in $used; do
      [ "$target" = "$module" ] && continue
      case " ${allowed[$module]} " in
        *" $target "*) ;;
        *)
          if [ -n "${allowed[$target]+set}" ]; then
            echo "layers: $file ($module) uses crate::$target, which its layer may not (src/lib.rs)"
            status=1
          fi
          ;;
      esac
    done
  done
done
# Every module of src/ must have a row, or it escapes the check.
for path in src/*; do
  name=$(basename "$path" .rs)
  case "$name" in lib | main) continue ;; esac
  if [ -z "${allowed[$name]+set}" ]; then
    echo "layers: src/$name has no row in scripts/check-layers.sh"
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "layers: every module depends only on the layers below it"
exit "$status"
