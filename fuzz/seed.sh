#!/usr/bin/env bash
# Fills corpus/<target>/ with the test data as seeds (the rewrite target's
# inputs start with a plan byte).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for t in reader scan rewrite; do
  mkdir -p "$here/corpus/$t"
  i=0
  while IFS= read -r f; do
    i=$((i + 1))
    if [ "$t" = rewrite ]; then
      { printf '\x85'; cat "$f"; } > "$here/corpus/$t/seed$i"
    else
      cp "$f" "$here/corpus/$t/seed$i"
    fi
  done < <(find "$here/../testdata" -name '*.bc' -o -name '*.o' | sort)
done
