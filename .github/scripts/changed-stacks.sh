#!/usr/bin/env bash
# Print, as a JSON array, the stacks a change between two commits can affect.
#   changed-stacks.sh BASE_SHA HEAD_SHA
# A changed `Pulumi.<stack>.yaml` selects that stack; a change to shared code (infra/, twiml/,
# webhook_app/, Pulumi.yaml, pyproject.toml) selects every stack. `local` (the emulator stack)
# is never selected. An empty or all-zero BASE_SHA (a new branch) selects every stack.
# Used by preview.yml (pull requests) and deploy.yml (pushes to main).
set -euo pipefail
base="${1:-}"
head="${2:-HEAD}"
all="$(find . -maxdepth 1 -name 'Pulumi.*.yaml' -printf '%f\n' \
  | sed -E 's/^Pulumi\.(.*)\.yaml$/\1/' | grep -vx local | sort || true)"
if [ -z "$base" ] || [ -z "${base//0/}" ]; then
  stacks="$all"
else
  changed="$(git diff --name-only "$base" "$head")"
  if grep -qE '^(infra/|twiml/|webhook_app/|Pulumi\.yaml$|pyproject\.toml$)' <<<"$changed"; then
    stacks="$all"
  else
    stacks="$(grep -E '^Pulumi\.[^/]+\.yaml$' <<<"$changed" \
      | sed -E 's/^Pulumi\.(.*)\.yaml$/\1/' | grep -vx local | sort -u || true)"
    # A deleted stack file has nothing left to preview or deploy.
    stacks="$(comm -12 <(echo "$stacks") <(echo "$all") || true)"
  fi
fi
jq -R -s -c 'split("\n") | map(select(length > 0))' <<<"$stacks"
