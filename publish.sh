#!/usr/bin/env bash
# Builds the Azure Functions package (see docs/deploy.md, "Build the package"):
#   publish/package/          host.json, one <Function>/function.json per function, app/RunLedger
#   publish/runledger.zip     the same tree, zipped with Unix permissions (app/RunLedger stays executable)
# The function folders are written by the app itself from its route table (RunLedger --emit-functions).
set -euo pipefail
cd "$(dirname "$0")"

out=publish
package=$out/package
rm -rf "$package" "$out/runledger.zip"
mkdir -p "$package"

dotnet publish functions/RunLedger -c Release -r linux-x64 --self-contained true \
  -p:PublishReadyToRun=true -o "$package/app" --nologo

cp host.json "$package/host.json"
chmod +x "$package/app/RunLedger"

# The function folders come from the same build's route table. The linux-x64 executable runs
# only on Linux x64; elsewhere (e.g. macOS on Apple silicon) the same code runs through dotnet.
if [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
  "$package/app/RunLedger" --emit-functions "$package"
else
  dotnet run --project functions/RunLedger -c Release --no-launch-profile -- --emit-functions "$package"
fi

# Zip with permissions kept: the package is mounted read-only in Azure, so the executable bit
# must already be in the archive.
zipfile="$(pwd)/$out/runledger.zip"
if command -v zip >/dev/null 2>&1; then
  (cd "$package" && zip -q -r -X "$zipfile" .)
else
  python3 - "$package" "$zipfile" <<'PY'
import os, stat, sys, zipfile
root, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            path = os.path.join(folder, name)
            info = zipfile.ZipInfo.from_file(path, os.path.relpath(path, root))
            info.external_attr = (stat.S_IMODE(os.stat(path).st_mode) | stat.S_IFREG) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as source:
                archive.writestr(info, source.read())
PY
fi

echo "Package: $package ($(find "$package" -name function.json | wc -l | tr -d ' ') functions)"
echo "Zip:     $out/runledger.zip ($(du -h "$out/runledger.zip" | cut -f1))"
