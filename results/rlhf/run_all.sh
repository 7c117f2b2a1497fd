#!/bin/bash
# The runs behind results/rlhf/README.md (CPU, 2 cores, nice -n 19):
#   bash results/rlhf/run_all.sh [RUNS_DIR]
# A finished run (RUNS/<run>/done) is skipped; an unfinished one resumes from its checkpoint.
set -e
cd "$(dirname "$0")/../.."
RUNS=${1:-results/rlhf/runs}
FLAGS=launch/configs/rlhf_cartpole.flags
# (evaluations and checkpoints every 100 updates = 51,200 steps: the flagfiles set it)
common="--progress=false --nosummary --eval_episodes=32"
run() {  # name, launcher, flags... (skipped when finished)
  local name=$1 launcher=$2; shift 2
  [ -f "$RUNS/$name/done" ] && return 0
  nice -n 19 python "launch/$launcher" --workdir="$RUNS/$name" $common "$@" > /dev/null
  touch "$RUNS/$name/done"; echo "done $name"
}
for seed in 0 1 2; do
  run "ppo_true_reward/seed_$seed" ppo.py --flagfile=launch/configs/cartpole.flags --seed=$seed
  run "rlhf_active/seed_$seed" rlhf.py --flagfile=$FLAGS --seed=$seed
  run "rlhf_random/seed_$seed" rlhf.py --flagfile=$FLAGS --seed=$seed --query_selection=random
  run "rlhf_noisy10/seed_$seed" rlhf.py --flagfile=$FLAGS --seed=$seed --rater_mistake_rate=0.1
  run "rlhf_centre/seed_$seed" rlhf.py --flagfile=$FLAGS --seed=$seed --rater_objective=centre
done
for seed in 0 1 2; do
  run "rlhf_active_250/seed_$seed" rlhf.py --flagfile=$FLAGS --seed=$seed --total_labels=250
  run "rlhf_random_250/seed_$seed" rlhf.py --flagfile=$FLAGS --seed=$seed --total_labels=250 \
    --query_selection=random
done
for seed in 0 1 2; do
  run "rlhf_active_50/seed_$seed" rlhf.py --flagfile=$FLAGS --seed=$seed --total_labels=50
  run "rlhf_random_50/seed_$seed" rlhf.py --flagfile=$FLAGS --seed=$seed --total_labels=50 \
    --query_selection=random
done
