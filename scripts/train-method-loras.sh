#!/usr/bin/env bash
# The LoRAs of the steps table (docs/eval/steps, issue 21): PCM at 1, 2, 4, 8 and 16 phases, PCM with its
# adversarial loss at 1 and 2, and simpleCTM, each with the budget of the shipped TDD LoRA (450 optimizer steps,
# batch 16, rank 32, alpha 32, lr 3e-4, the emoji data, the shared latent cache). Resumable: run it again after an
# interruption and each run continues from its last checkpoint; finished runs are left as they are.
#   bash scripts/train-method-loras.sh [tdd-command]      (default: node bin/tdd.js)
set -euo pipefail
TDD=${1:-node bin/tdd.js}
COMMON=(--teacher models/emoji --data emoji --batch 16 --rank 32 --alpha 32 --lr 3e-4 --steps 450
        --latent-cache training/latent-cache --resume --quiet
        --validation-prompt "red apple, food and drink, food fruit, twemoji style"
        "smiling face with heart-eyes, smileys and emotion, face affection, twemoji style")
run() {
  local out=$1; shift
  if [ -f "$out/lora.safetensors" ]; then echo "$out: done"; return; fi
  echo "$out: training ($(date -u +%H:%M:%S))"
  $TDD distill "${COMMON[@]}" --out "$out" "$@"
}
for m in 1 2 4 8 16; do run "training/lora-pcm-$m" --method pcm --pcm-phases "$m"; done
run training/lora-simplectm --method simplectm
for m in 1 2; do run "training/lora-pcm-adv-$m" --method pcm --pcm-phases "$m" --adversarial; done
# The steps table then reuses the main table's classifier (FD values comparable across both tables).
echo "then: $TDD eval --model models/emoji --rows steps --out docs/eval/steps --classifier docs/eval/classifier.safetensors \\"
echo "  --tdd-lora models/emoji/tdd-lora.safetensors --lcm-lora training/lora-lcm/lora.safetensors \\"
echo "  --lora $(for m in 1 2 4 8 16; do printf 'pcm%s=training/lora-pcm-%s/lora.safetensors ' "$m" "$m"; done)\\"
echo "  pcmAdv1=training/lora-pcm-adv-1/lora.safetensors pcmAdv2=training/lora-pcm-adv-2/lora.safetensors simplectm=training/lora-simplectm/lora.safetensors"
