#!/usr/bin/env bash
# Rewrites the flag table of docs/configuration.md (between its flag-table markers) from the
# settings table, as `etcd-health-proxy --help=markdown` prints it. The unit test
# FlagTableTest.DocsCarryTheGeneratedTable fails until this has run after a setting changed.
# Usage: tests/scripts/update-flag-table.sh [BINARY] (default build/release/proxy/etcd-health-proxy)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/release/proxy/etcd-health-proxy}
doc=docs/configuration.md
[ -x "$bin" ] || { echo "update-flag-table.sh: no $bin; build first (make build)" >&2; exit 1; }
table=$(mktemp)
trap 'rm -f "$table"' EXIT
"$bin" --help=markdown >"$table"
python3 - "$doc" "$table" <<'PY'
import sys
doc, table = sys.argv[1], open(sys.argv[2]).read()
text = open(doc).read()
begin = text.index("<!-- flag-table:begin")
body = text.index("\n", begin) + 1
end = text.index("<!-- flag-table:end -->", body)
open(doc, "w").write(text[:body] + "\n" + table + "\n" + text[end:])
PY
echo "updated $doc"
