#!/usr/bin/env bash
# The main job, end to end: installs and builds bursar, then on examples/platform
#   1. validates the desired state and summarises it,
#   2. shows a proposed change's diff and monthly cost before merge (bursar check),
#   3. imports the FOCUS sample bill and allocates it by provider and service,
#   4. serves real requests through the gateway (openai SDK -> bursar -> a fake upstream) and
#      reports their exact cost per route, tied to the commit that served them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
./scripts/setup.sh
./scripts/build.sh release
B="$ROOT/build/bursar"
WORK=$(mktemp -d /tmp/bursar-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say bursar validate --repo examples/platform
"$B" validate --repo examples/platform

# A Git repository of the example, then a change: canary 10% -> 50% and 3 -> 5 GPU replicas.
cp -r examples/platform "$WORK/cfg"
git -C "$WORK/cfg" init -q -b main
git -C "$WORK/cfg" add -A
git -C "$WORK/cfg" -c user.name=demo -c user.email=demo@example.com commit -qm "platform config"
sed -i 's/^  replicas: 3$/  replicas: 5/' "$WORK/cfg/k8s/inference/deployment.yaml"
git -C "$WORK/cfg" -c user.name=demo -c user.email=demo@example.com commit -qam "scale inference to 5 GPUs"
say bursar diff --repo cfg HEAD~1 HEAD
"$B" diff --repo "$WORK/cfg" HEAD~1 HEAD
say bursar check --repo cfg --base HEAD~1 --head HEAD
"$B" check --repo "$WORK/cfg" --base HEAD~1 --head HEAD || echo "(exit $?: the change breaks a budget)"

say bursar import focus ../shared/data/focus/focus-1.0-sample.csv   "# FinOps Foundation, FOCUS Sample Data (CC BY 4.0)"
"$B" import focus "$ROOT/../shared/data/focus/focus-1.0-sample.csv" --data "$WORK/data"
say bursar report --source focus --by ProviderName
"$B" report --data "$WORK/data" --source focus --by ProviderName
say bursar report --source focus --by ServiceCategory --output csv
"$B" report --data "$WORK/data" --source focus --by ServiceCategory --output csv

say "gateway: openai SDK -> bursar serve -> fake upstream"
BURSAR_BIN="$B" node test/demo_traffic.mjs
