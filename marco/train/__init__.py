"""marco.train: the recipe (marco's dataclasses beside TRL's, parsed from YAML and the command line) and the trainers
(SFT for causal and encoder-decoder models, DPO from an SFT adapter), with `marco preview` of what they are given."""
