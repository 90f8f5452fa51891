"""Rebuild marco-tiny-t5 from the bundled Italian data: `python -m marco.tiny_t5.build [--steps 2000]`.

A Unigram tokenizer (4,096 pieces, T5's special tokens: <pad> 0 is also the decoder start, </s> 1 ends every
sequence) and a 3+3-layer T5 v1.1 (gated GELU, so its layers have Flan-T5's names: q k v o wi_0 wi_1 wo), trained on
data/marco_it.jsonl: question -> reply pairs (every tutor reply a target, the conversation before it the source,
rendered by marco.train.seq2seq like any training run) mixed with reply denoising. It learns the replies' openings nearly
by heart (final loss ~0.07), so the base answers with fluent but unrelated tutoring text and knows no finance:
fine-tuning on data/examples/finance_qa.jsonl has facts to teach. Seeded, but not bit for bit: the Unigram trainer's
parallel sums vary in the last digits. About 6 minutes on 2 CPU cores.
"""

import json
import os
import random

from marco.tiny.build import SEED, save, setup, train

SPECIAL_TOKENS = ["<pad>", "</s>", "<unk>"]  # T5's ids 0, 1, 2


def build_tokenizer(texts: list, vocab_size: int):
    """A sentencepiece-style Unigram model, like T5's own, that appends </s> to every sequence."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.Unigram())
    backend.normalizer = normalizers.NFKC()
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    backend.train_from_iterator(texts, trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, unk_token="<unk>", show_progress=False,
        initial_alphabet=[chr(c) for c in range(33, 127)]))  # every ASCII sign, even those the data lacks ($)
    backend.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                           special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=512, padding_side="right")


def model_config(tokenizer):
    from transformers import T5Config

    return T5Config(
        vocab_size=len(tokenizer), d_model=192, d_kv=32, d_ff=512, num_layers=3, num_decoder_layers=3, num_heads=4,
        feed_forward_proj="gated-gelu", dropout_rate=0.0, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.pad_token_id, dtype="float32",
    )


def denoising_pairs(texts: list, rng: random.Random, words: int = 40, drop: float = 0.25) -> list:
    """(the first `words` words with a quarter of them dropped, those words): rebuilding them makes the decoder read
    the encoder, which question -> reply pairs alone teach too slowly (after 1,500 steps of those alone, the base
    still gave every question the same answer)."""
    pairs = []
    for text in texts:
        kept = text.split()[:words]
        pairs.append((" ".join(w for w in kept if rng.random() > drop), " ".join(kept)))
    return pairs


def pair_batches(tokenizer, pairs: list, batch: int, source_len: int, target_len: int):
    """Draws `batch` random (source, target) pairs, padded as the trainer's collator pads them."""
    import torch
    from transformers import DataCollatorForSeq2Seq

    from marco.train import seq2seq

    features = seq2seq.features(tokenizer, pairs, source_len, target_len)
    collate = DataCollatorForSeq2Seq(tokenizer, return_tensors="pt")

    def sample(generator):
        return collate([features[i] for i in torch.randint(0, len(features), (batch,), generator=generator).tolist()])

    return sample


def main():
    args = setup(__doc__, os.path.dirname(os.path.abspath(__file__)), steps=2000, batch=16, lr=2e-3, source_len=64,
                 target_len=48)

    from transformers import GenerationConfig, T5ForConditionalGeneration

    from marco.train.seq2seq import examples

    with open(args.data, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    rng = random.Random(SEED)
    pairs = examples(records)
    pairs += denoising_pairs([reply for _, reply in pairs], rng)
    rng.shuffle(pairs)
    tokenizer = build_tokenizer([text for pair in pairs for text in pair], 4096)
    model = T5ForConditionalGeneration(model_config(tokenizer))
    print(f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, {len(pairs)} pairs")
    losses = train(model, pair_batches(tokenizer, pairs, args.batch, args.source_len, args.target_len), args.steps, args.lr)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, max_new_tokens=128, do_sample=False, no_repeat_ngram_size=3)
    save(model, tokenizer, args, losses, pairs=len(pairs))


if __name__ == "__main__":
    main()
