#!/bin/sh
# Before/after figures for docs/PROFILE.md, measured side by side: the ingest bench's service
# phases (QoS 1, QoS 0 at 30,000/s offered) against the service as it was before the profile
# fixes (a copy of this tree with services/{intake,spool,pipeline,broker,store,liveness} from
# git HEAD, made here) and as it is now, alternating, PAIRS times.
#
#   sh bench/profile-ab.sh [pairs]
set -e
cd "$(dirname "$0")/.."
PAIRS=${1:-3}
BEFORE=$(mktemp -d /tmp/firecircle-before-XXXXXX)
tar --exclude=./node_modules --exclude=./bench/profiles --exclude=./.git -cf - . | tar -xf - -C "$BEFORE"
ln -s "$PWD/node_modules" "$BEFORE/node_modules"
git archive HEAD services/intake services/spool services/pipeline services/broker services/store services/liveness | tar -xf - -C "$BEFORE"
i=1
while [ "$i" -le "$PAIRS" ]; do
  echo "== pair $i: before (git HEAD's intake, spool, pipeline, broker, store, liveness)"
  BENCH_RUNS=1 BENCH_QOS0_STEPS=30000 node --import tsx bench/ingest.ts --service-only --root "$BEFORE" | grep 'run 1'
  echo "== pair $i: after (this tree)"
  BENCH_RUNS=1 BENCH_QOS0_STEPS=30000 node --import tsx bench/ingest.ts --service-only | grep 'run 1'
  i=$((i + 1))
done
rm -rf "$BEFORE"
