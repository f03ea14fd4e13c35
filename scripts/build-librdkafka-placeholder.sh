#!/usr/bin/env bash
# Rebuilds packages/local/librdkafka.redist.1.9.2.nupkg from its .nuspec. A .nupkg is a zip with
# the .nuspec at its root; this one has no other file (see the .nuspec for why).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../packages/local"
rm -f librdkafka.redist.1.9.2.nupkg
python3 - <<'PY'
import zipfile
with zipfile.ZipFile("librdkafka.redist.1.9.2.nupkg", "w", zipfile.ZIP_DEFLATED) as z:
    info = zipfile.ZipInfo("librdkafka.redist.nuspec", date_time=(2020, 1, 1, 0, 0, 0))
    z.writestr(info, open("../placeholders/librdkafka.redist.nuspec", "rb").read())
PY
echo "built $(pwd)/librdkafka.redist.1.9.2.nupkg"
