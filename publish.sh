#!/usr/bin/env bash
# Builds the deployment package of the isolated-worker app (see docs/deploy.md, "Build the package"):
#   publish/package/        the publish output: host.json, functions.metadata, worker.config.json,
#                           extensions.json, RunLedger.dll and its dependencies
#   publish/runledger.zip   that folder's contents at the zip root, as Flex Consumption
#                           (`az functionapp deploy`) and zip deploy expect it
set -euo pipefail
cd "$(dirname "$0")"
source scripts/lib.sh

package=publish/package
zipfile="$(pwd)/publish/runledger.zip"
rm -rf "$package" "$zipfile"

# Framework-dependent (the plan's dotnet-isolated 10.0 stack provides .NET), precompiled with
# ReadyToRun for linux-x64 to shorten cold starts. The Worker SDK writes functions.metadata,
# worker.config.json and the extensions the host loads; local.settings.json is never published.
dotnet publish functions/RunLedger -c Release -r linux-x64 --self-contained false \
  -p:PublishReadyToRun=true -o "$package" --nologo

# Zip the folder's contents (hidden ones too: the SDK may write a .azurefunctions folder).
if command -v zip >/dev/null 2>&1; then
  (cd "$package" && zip -q -r -X "$zipfile" .)
else
  python3 -c 'import shutil, sys; shutil.make_archive(sys.argv[1][:-4], "zip", sys.argv[2])' "$zipfile" "$package"
fi

echo "Package: $package"
echo "Zip:     publish/runledger.zip ($(du -h "$zipfile" | cut -f1))"
