#!/usr/bin/env bash
# The recipe Benchmarks/plan.sh and compare-snakemake.sh plan: a 400-prompt matrix
# (5 x 5 x 4 x 4) x SEEDS of cosmos-predict2/text2image, labels for every image, one export.
# Source it, then: recipe SEEDS FILE
recipe() {  # recipe SEEDS FILE
  cat > "$2" <<YAML
version: 1
name: big
hardware: { gpu: h100-sxm, count: 8 }
prompts:
  line:
    template: "A conveyor belt. {color} cans on a {belt} belt. {light} Seen {view}."
    vars:
      color: [Orange, Blue, Rainbow, Silver, Red]
      belt: [green, white, black, grey, blue]
      light: ["Well lit.", "Dim yellow lights.", "Harsh daylight.", "Night shift."]
      view: ["from above", "from the side", "at an angle", "close up"]
steps:
  images:
    uses: cosmos-predict2/text2image
    model: 2B
    prompts: [line]
    seeds: 0..$(($1 - 1))
    options: { disable_guardrail: true }
  labels:
    uses: grounded-sam2/label
    from: images
    classes: { can: can }
  dataset:
    uses: export
    from: labels
YAML
}
