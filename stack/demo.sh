#!/usr/bin/env bash
# The main job end to end. Until the DAG exists this starts the stack and shows it answering.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. stack/env.sh
python stack/stackctl.py start
python stack/stackctl.py status
