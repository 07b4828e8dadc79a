#!/usr/bin/env bash
# The operator's walkthrough (docs/guides/operator.md), as a script: a gateway, the five
# parties the samples use, and each party's steps in order. Synthetic data
# only; everything on 127.0.0.1. Run from the repository:
#
#     bash docs/walkthrough.sh            # PORT=8080 and a fresh folder by default
#
# Each step is the command a person types; `tests/browser/test_walkthrough.py`
# runs this file, so the operator guide's walkthrough cannot drift from what works.
set -euo pipefail

SAMPLES="$(cd "$(dirname "$0")/.." && pwd)/connectors/samples"
PORT="${PORT:-8080}"
WORK="${WORK:-$(mktemp -d -t gateway-walkthrough-XXXXXX)}"
cd "$WORK"
export GATEWAY_INSTANCE="$WORK/instance"
COA=00000001003214345000 PROVIDER=00000001820029336000
LEIDEN=00000001002220647000 UTRECHT=00000001002220650000 AUDITOR=00000001800866472000

echo "== 1. The operator starts the gateway and registers the parties"
gateway serve --port "$PORT" --workers 2 > serve.log 2>&1 &
trap 'kill %1 2>/dev/null || true' EXIT
export GATEWAY_URL="http://127.0.0.1:$PORT"
up() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1"; }
for _ in $(seq 50); do up "$GATEWAY_URL/v1/health" 2> /dev/null && break; sleep 0.2; done  # serve made the instance
gateway parties add --oin $COA --role coa --name "COA (synthetic)"
gateway parties add --oin $PROVIDER --role provider --name "Taalschool Voorbeeld (synthetic)"
gateway parties add --oin $LEIDEN --role municipality --name "Gemeente Leiden" --municipality-code GM0546
gateway parties add --oin $UTRECHT --role municipality --name "Gemeente Utrecht" --municipality-code GM0344
gateway parties add --oin $AUDITOR --role auditor --name "Auditdienst (synthetic)"

echo "== 2. Each party makes its key pair; the operator registers each public key"
for party in coa provider leiden utrecht auditor; do
    gateway keys generate --out "$party.jwk" > "$party.public.jwk"   # the private file stays with the party
done
gateway keys add --oin $COA --jwk coa.public.jwk
gateway keys add --oin $PROVIDER --jwk provider.public.jwk
gateway keys add --oin $LEIDEN --jwk leiden.public.jwk
gateway keys add --oin $UTRECHT --jwk utrecht.public.jwk
gateway keys add --oin $AUDITOR --jwk auditor.public.jwk
gateway parties list

head -1 serve.log
as() { local oin=$1 key=$2; shift 2; GATEWAY_OIN=$oin GATEWAY_KEY=$key "$@"; }

echo "== 3. COA sends its export: 60 newcomers, placed in Leiden and Utrecht"
as $COA coa.jwk gateway connect coa "$SAMPLES/coa-export.csv"

echo "== 4. Leiden assigns the provider to 20 of its newcomers and records a consent"
as $LEIDEN leiden.jwk gateway connect municipality assign --file "$SAMPLES/assignments.csv"
FIRST=$(sed -n 2p "$SAMPLES/assignments.csv" | cut -d, -f1)
as $LEIDEN leiden.jwk gateway connect municipality declare "$SAMPLES/consent-declaration.json" \
    --form "$SAMPLES/consent-form-scan.txt" --v-number "$FIRST"
as $LEIDEN leiden.jwk gateway connect municipality consents --v-number "$FIRST"

echo "== 5. The provider sends its progress reports"
as $PROVIDER provider.jwk gateway connect provider "$SAMPLES/progress-reports.csv"

echo "== 6. Leiden and Utrecht pull their inboxes into folders"
as $LEIDEN leiden.jwk gateway connect municipality pull --out leiden-inbox/
as $UTRECHT utrecht.jwk gateway connect municipality pull --out utrecht-inbox/

echo "== 7. Leiden plans for its first newcomer; the provider pulls the brief"
as $LEIDEN leiden.jwk gateway connect municipality plan "$SAMPLES/plan.json" --v-number "$FIRST"
as $PROVIDER provider.jwk gateway connect provider pull --out briefs/

echo "== 8. Leiden's client managers see the signals; the DUO requests are written"
as $LEIDEN leiden.jwk gateway connect municipality signals
as $LEIDEN leiden.jwk gateway connect municipality duo-export --out duo/ --doel 00000001800000000000

echo "== 9. The auditor verifies the whole log, then watches it"
as $AUDITOR auditor.jwk gateway connect auditor verify --state auditor.state
as $AUDITOR auditor.jwk gateway connect auditor watch --state auditor.state --once

echo "== done: everything is in $WORK"
