"""`python -m marco preview --config CFG`: what training sees, token for token, in seconds and without weights (as
Axolotl's `preprocess --debug`). Each conversation is shown as the model reads it, with the tokens that carry the
loss marked: green on a terminal, [[...]] otherwise; `--json` writes one line per conversation.

    python -m marco preview --config configs/marco_qwen2.5-7b_lora.yaml --n 2
    python -m marco preview --config configs/finance_flan-t5-base_lora.yaml --json --n 5

The conversations are training's own: the recipe's data after marco's cleaning, decontamination and split (the
train side), since that is what the trainer is given. A causal LM's tokens come from TRL's SFTTrainer dataset
preparation itself (its `_prepare_dataset`, with the training chat template TRL swaps in for assistant_only_loss);
an encoder-decoder model's from marco.train.seq2seq.features, the function its training calls. Packing is left out: it
joins conversations, it does not change which tokens are trained."""

import json
import sys
from dataclasses import replace
from types import SimpleNamespace

from marco import models
from marco.errors import MarcoError
from marco.train import seq2seq, training

IGNORED = -100  # the label of a token that carries no loss
GREEN, RESET = "\033[32m", "\033[0m"
OPEN, CLOSE = "[[", "]]"  # markers where colour cannot be shown


def causal_features(tokenizer, training_args, conversations: list) -> list[dict]:
    """messages, input_ids and labels per conversation, from SFTTrainer's own preparation: its method runs unbound
    with the three attributes it reads, so no model has to be built. A conversation that truncation leaves without a
    trained token is dropped there, as in training."""
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar
    from trl import SFTTrainer
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    swap = training_args.assistant_only_loss and not has_generation_markers(tokenizer.chat_template)
    state = SimpleNamespace(chat_template=get_training_chat_template(tokenizer) if swap else None, _tokenizer=tokenizer,
                            completion_only_loss=training_args.completion_only_loss)  # as SFTTrainer.__init__ sets them
    args = replace(training_args, shuffle_dataset=False, dataset_num_proc=None)  # in data order, in this process
    disable_progress_bar()
    dataset = SFTTrainer._prepare_dataset(state, Dataset.from_list([{"messages": c} for c in conversations]),
                                          tokenizer, args, packing=False, formatting_func=None, dataset_name="preview")
    return [{k: row[k] for k in ("messages", "input_ids", "labels")} for row in dataset]


def mark(text: str, colour: bool) -> str:
    return f"{GREEN}{text}{RESET}" if colour else f"{OPEN}{text}{CLOSE}"


def seq2seq_rows(tokenizer, training_args, conversations: list, colour: bool) -> list[dict]:
    """Per conversation: every (source -> target) pair as the encoder and decoder get it; the labels are trained."""
    rows = []
    for messages in conversations:
        pairs = seq2seq.examples([{"messages": messages}])
        found = seq2seq.features(tokenizer, pairs, training_args.max_length, training_args.max_length) if pairs else []
        sources = [tokenizer.decode(f["input_ids"]) for f in found]
        targets = [tokenizer.decode(f["labels"]) for f in found]
        rows.append({"messages": messages, "trained": "".join(targets),
                     "text": "".join(f"encoder: {s}\ndecoder: {t}\n" for s, t in zip(sources, targets)),
                     "shown": "".join(f"encoder: {s}\ndecoder: {mark(t, colour)}\n" for s, t in zip(sources, targets))})
    return rows


def spans(tokenizer, input_ids: list, labels: list) -> list[tuple[str, bool]]:
    """The text in runs of (text, trained), decoded run by run."""
    runs, start = [], 0
    for end in range(1, len(input_ids) + 1):
        if end == len(input_ids) or (labels[end] != IGNORED) != (labels[start] != IGNORED):
            runs.append((tokenizer.decode(input_ids[start:end]), labels[start] != IGNORED))
            start = end
    return runs


def causal_rows(tokenizer, training_args, conversations: list, colour: bool) -> list[dict]:
    rows = []
    for feature in causal_features(tokenizer, training_args, conversations):
        messages, ids, labels = feature["messages"], feature["input_ids"], feature["labels"]
        marked = [mark(text, colour) if trained else text for text, trained in spans(tokenizer, ids, labels)]
        rows.append({"messages": messages, "text": tokenizer.decode(ids),
                     "trained": tokenizer.decode([i for i, label in zip(ids, labels) if label != IGNORED]),
                     "shown": "".join(marked)})
    return rows


def preview(marco_args, cleaning, comparing, training_args, model_args, n: int, colour: bool = False) -> list[dict]:
    """The first `n` training conversations: {"messages", "text", "trained", "shown"} (shown: text, marked)."""
    cleaning = training.decontaminated(cleaning, comparing)
    train_records, _, _ = training.prepare_data(marco_args, cleaning, training_args.output_dir, training_args.seed,
                                                is_main=False)
    conversations = [r["messages"] for r in train_records[:n]]
    name = model_args.model_name_or_path
    tokenizer = models.load_tokenizer(name, model_args.model_revision, training_args.trust_remote_code)
    if models.is_encoder_decoder(name, model_args.model_revision, training_args.trust_remote_code):
        return seq2seq_rows(tokenizer, training_args, conversations, colour)
    return causal_rows(tokenizer, training_args, conversations, colour)


def command(argv: list) -> int:
    """`python -m marco preview --config CFG [overrides] [--n N] [--json]`: exit 0, or 2 with one line to fix."""
    from marco.train.config import make_parser
    from marco.train.config_file import parse

    parser = make_parser()
    parser.prog = "python -m marco preview"
    parser.add_argument("--n", type=int, default=3, help="conversations to show (default: 3)")
    parser.add_argument("--json", action="store_true", help='one JSON line per conversation: messages, text, trained')
    try:
        # no training here: a GPU recipe's mixed precision must not stop a CPU-only preview (tokens do not depend on it)
        parsed = parse(parser, [*argv, "--bf16", "false", "--fp16", "false"])
        marco_args, cleaning, comparing, *_, training_args, model_args, args = parsed
        colour = sys.stdout.isatty() and not args.json
        rows = preview(marco_args, cleaning, comparing, training_args, model_args, args.n, colour)
    except (MarcoError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for number, row in enumerate(rows, 1):
        if args.json:
            print(json.dumps({k: row[k] for k in ("messages", "text", "trained")}, ensure_ascii=False))
        else:
            legend = "green" if colour else f"between {OPEN} and {CLOSE}"
            print(f"--- conversation {number} of {len(rows)} (trained tokens {legend}) ---\n{row['shown']}")
    return 0
