"""Fine-tune a chat model into a tutor: clean the data, train with TRL, save a run that explains itself.

    python train.py --config configs/marco_tiny.yaml                     # offline, CPU, built-in model
    python train.py --config configs/marco_qwen2.5-7b_qlora.yaml --learning_rate 1e-4
    python train.py --config outputs/marco-tiny/marco_config.yaml        # the same run again, from its saved recipe
    torchrun --nproc_per_node 2 train.py --config configs/marco_tiny.yaml

Every SFTConfig and ModelConfig option of TRL is available, plus marco's own (`python train.py --help`). The job
itself, stage by stage, is marco/pipeline.py.
"""

import sys

from marco.train.config import make_parser  # the recipe's parser, shared with `marco preview`
from marco.train.recipe_help import help_parser

if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]) and (parser := help_parser()):  # the help without importing torch
        parser.print_help()
        sys.exit(0)
    from marco.errors import MarcoError, disk_full
    from marco.pipeline import main
    from marco.train.config_file import parse

    try:
        main(*parse(make_parser(), sys.argv[1:]))
    except (MarcoError, ValueError, OSError, RuntimeError) as error:
        shown = error if isinstance(error, (MarcoError, ValueError)) else disk_full(
            error, "the run's complete checkpoints are kept (an incomplete one is skipped): free some space and "
            "continue with --resume_from_checkpoint true")
        if shown is None:
            raise
        print(f"error: {shown}", file=sys.stderr)
        sys.exit(2)
