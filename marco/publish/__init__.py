"""marco.publish: what a finished run leaves and gives away: its report, the model card, the Hub push, the demo Space
and the merged or GGUF export."""
