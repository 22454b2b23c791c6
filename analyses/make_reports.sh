#!/usr/bin/env bash
# Regenerate the committed reports from the real Brain-Score export (run from the project root):
#   bash analyses/make_reports.sh
# The data live beside the project (../shared/data, see shared/data/README.md), never in it.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=../shared/data/brainscore_vision_leaderboard_2025-05-07.csv

python analyses/reproduce_ahlert2024.py --n-boot 2000 --seed 0
alignfactors report "$DATA" --out reports/brainscore_2025-05-07 --n-boot 2000 --seed 0
# Reliability and measurement error: the snapshot with per-score errors, and the simulation study
python analyses/reliability_brainscore.py --n-boot 2000 --seed 0
python analyses/reliability_simulation.py --reps 50 --n-boot 300 --n-jobs 2 --seed 2026
