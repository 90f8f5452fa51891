"""Recall and false positives of the boilerplate, truncation and alignment detectors, and their speed.

    python benchmarks/bench_filters.py            # everything; IFD with marco-tiny on CIMA takes ~1-2 min on 2 cores
    python benchmarks/bench_filters.py --no-model # skip the IFD scores

Planted sets are written here (disclaimers in five languages and wordings of their own, cut-offs of six kinds
made from the shipped data/marco_it.jsonl, replies shifted by one inside blocks of CIMA's aligned pairs); seed
figures come from ../shared/seed-project/ where it exists. Speed: each detector on 100k conversations against
an orjson parse of the same JSONL, measured in this run.
"""

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SEED = ROOT.parent / "shared" / "seed-project"

from marco.data.alignment import AlignmentFilter, asked_terms, mentions  # noqa: E402
from marco.data.boilerplate import BoilerplateFilter  # noqa: E402
from marco.data.truncation import TruncationFilter  # noqa: E402

DISCLAIMERS = [  # written for this benchmark; none is a sentence the detector lists
    "As an AI developed to assist with languages, I can't actually hear how you pronounce it.",
    "I am only an artificial intelligence, so I do not have a hometown in Italy to recommend.",
    "Being a language model, I have no way to check your textbook's page 42.",
    "I'm an AI chatbot and unfortunately cannot grade handwritten homework.",
    "Please note that, as a large language model, I don't have personal preferences between dialects.",
    "My knowledge cutoff means the 2025 exam changes may be missing here.",
    "As of my last knowledge update, the CILS exam had four sections.",
    "I'm sorry, but I can't help you cheat on your online test.",
    "I don't have access to real-time train timetables, so check Trenitalia.",
    "Come intelligenza artificiale, non posso ascoltare la tua pronuncia.",
    "In quanto assistente virtuale non ho un accento preferito.",
    "Essendo un modello linguistico, non sono in grado di vedere la foto che hai caricato.",
    "Sono soltanto un programma e non posso sapere cosa ha detto il tuo insegnante.",
    "Mi scuso, ma come IA non riesco a correggere file audio.",
    "Purtroppo non sono in grado di fornire le soluzioni dell'esame ufficiale.",
    "Fino al mio ultimo aggiornamento, il livello B1 bastava per la cittadinanza.",
    "Non ho opinioni personali sui dialetti, ma posso spiegarti le differenze.",
    "Como inteligencia artificial, no puedo escuchar tu pronunciación.",
    "Soy solo un asistente virtual y no tengo experiencias personales en Roma.",
    "Lo siento, pero no puedo generar las respuestas de tu examen.",
    "Mi última actualización es de 2023, así que revisa las fechas.",
    "No tengo sentimientos, pero entiendo que el subjuntivo frustra.",
    "En tant qu'assistant virtuel, je ne peux pas écouter ta prononciation.",
    "Je suis une IA et je n'ai pas de souvenirs de voyage en Italie.",
    "Désolé, mais je ne peux pas fournir les corrigés de l'examen.",
    "Comme IA, je n'ai pas d'opinions personnelles sur les accents.",
    "Als künstliche Intelligenz kann ich deine Aussprache nicht hören.",
    "Ich bin nur ein Computerprogramm und habe keine Gefühle.",
    "Es tut mir leid, aber ich kann keine Prüfungsantworten erstellen.",
    "Mein Wissensstand reicht nur bis 2023.",
    "As a text-based assistant, I am unable to see the image you attached.",
    "Being just a bot, I lack the ability to call your school for you.",
]
HELD_OUT = [  # measured untuned once (8 of 10 found), then its two misses were tuned on: no longer held out
    "Keep in mind I'm a virtual assistant, so I can't tell whether your Roman accent sounds natural.",
    "Since I am an AI system, I have no personal memories of Florence to share with you.",
    "Purtroppo, essendo un'intelligenza artificiale, non posso sapere quale libro usa la tua classe.",
    "Ti ricordo che sono un assistente AI: non ho modo di verificare il tuo certificato.",
    "Sin embargo, como soy un programa de IA, no puedo evaluar tu examen oral.",
    "Je suis un modèle de langage, donc je ne peux pas corriger un enregistrement audio.",
    "Da ich nur ein KI-Assistent bin, kann ich deine Hausaufgaben nicht benoten.",
    "Apologies, but I'm not able to provide the official answer key for that test.",
    "My training only goes up to 2023, so the newest slang may be missing.",
    "As an artificial intelligence, I'm not capable of feeling nervous before an exam, but many learners do.",
]
HELD_OUT_2 = [  # never used to tune the detector
    "Honestly, as a machine learning model I'm unable to judge how your handwriting looks.",
    "I'm a conversational AI, which means I can't take part in your speaking exam.",
    "Non essendo una persona ma un modello di intelligenza artificiale, non ho ricordi d'infanzia.",
    "Come chatbot non posso iscriverti al corso, ma ecco il link della scuola.",
    "Mi dispiace, ma non posso aiutarti a copiare durante la verifica.",
    "Al ser una IA, no tengo acceso a tu libro de texto.",
    "Lamentablemente, como asistente de IA, no puedo escuchar audios.",
    "En tant que programme informatique, je n'ai pas d'avis sur les accents régionaux.",
    "Als Sprachmodell habe ich keinen Zugriff auf deine Lernplattform.",
    "As an AI, my information may be outdated, so please double-check the exam dates.",
    "I don't have real-time access to the news, so I can't tell you today's headlines in Italian.",
    "Sorry, as an AI I don't have a body, so I can't show you the gesture, but I can describe it.",
]
CUT_KINDS = ("mid-word", "word boundary", "mid-word + ...", "inside bold or brackets", "after a colon", "tail only")


def read(path: Path) -> list[list[dict]]:
    return [json.loads(line)["messages"] for line in path.open(encoding="utf-8")]


def rate(flags) -> float:
    flags = list(flags)
    return sum(flags) / max(1, len(flags))


def as_conversation(reply: str) -> list[dict]:
    return [{"role": "user", "content": "Aiutami con l'italiano."}, {"role": "assistant", "content": reply}]


def clean_replies(path: Path) -> list[str]:
    return [m["content"] for c in read(path) for m in c if m["role"] == "assistant"]


def boilerplate(clean: list[str], name: str, rng: random.Random) -> None:
    """Disclaimers planted at 1 in 80, at the start or the end of a clean reply."""
    planted = []
    for i in range(len(clean) // 79):
        reply, disclaimer = rng.choice(clean), DISCLAIMERS[i % len(DISCLAIMERS)]
        planted.append(f"{disclaimer} {reply}" if i % 2 else f"{reply}\n\n{disclaimer}")
    found = BoilerplateFilter().find([as_conversation(r) for r in clean + planted])
    recall = rate(f is not None for f in found[len(clean):])
    print(f"| boilerplate | {name}: {len(planted)} disclaimers at 1 in 80 | recall {recall:.3f}"
          f" | {rate(f is not None for f in found[:len(clean)]):.4f} of {len(clean)} clean replies |")


def cut(reply: str, kind: str, rng: random.Random) -> str | None:
    """One cut-off of `kind` made from a clean reply, or None where the reply has no place for it."""
    middle = rng.randrange(len(reply) // 3, max(len(reply) // 3 + 1, len(reply) - 5))
    if kind == "mid-word":
        inside = [i for i in range(middle, len(reply) - 1) if reply[i - 1].isalpha() and reply[i].isalpha()]
        return reply[: inside[0]] if inside else None
    if kind == "word boundary":  # inside a sentence: the word before the space ends in a letter
        spaces = [i for i in range(middle, len(reply)) if reply[i] == " " and reply[i - 1].isalpha()]
        return reply[: spaces[0]] if spaces else None
    if kind == "mid-word + ...":
        inside = [i for i in range(middle, len(reply) - 1) if reply[i - 1].isalpha() and reply[i].isalpha()]
        return reply[: inside[0]] + "..." if inside else None
    if kind == "inside bold or brackets":  # at a space between an opener and its closer
        bold = [m.span() for m in re.finditer(r"\*\*[^*\n]+\*\*", reply)]
        spans = bold + [m.span() for m in re.finditer(r"\([^()\n]+\)|\[[^\[\]\n]+\]", reply)]
        inside = [i for begin, end in spans for i in range(begin + 2, end - 2) if reply[i] == " "]
        return reply[: rng.choice(inside)] if inside else None
    if kind == "after a colon":
        colons = [i for i, ch in enumerate(reply[:-2]) if ch == ":" and reply[i - 1].isalpha()]
        return reply[: rng.choice(colons) + 1] if colons else None
    return reply[: rng.randrange(20, 60)] if len(reply) > 80 else None  # "tail only": a short opening of the reply


def truncation(clean: list[str], rng: random.Random, runs: int = 24) -> None:
    """Cut-offs planted at 1 in 80 (as real ones are rare), `runs` times over, six kinds in turn."""
    hits, kinds, false = [], [], []
    for run in range(runs):
        planted = []
        while len(planted) < len(clean) // 79:
            kind = CUT_KINDS[len(kinds) % len(CUT_KINDS)]
            made = cut(rng.choice(clean), kind, rng)
            if made:
                planted.append(made.rstrip())
                kinds.append(kind)
        found = TruncationFilter().find([as_conversation(r) for r in clean + planted])
        hits += [f is not None for f in found[len(clean):]]
        false.append(rate(f is not None for f in found[:len(clean)]))
    by_kind = ", ".join(f"{k} {rate(h for h, kk in zip(hits, kinds) if kk == k):.2f}" for k in CUT_KINDS)
    print(f"| truncated | marco_it: {len(hits)} cut-offs at 1 in 80, {runs} runs ({by_kind}) | recall {rate(hits):.3f} | "
          f"{max(false):.4f} of {len(clean)} clean replies (worst run) |")
    capped = [r[:600] for r in clean]
    found = TruncationFilter().find([as_conversation(r) for r in capped])
    was_cut = [len(r) > 600 for r in clean]
    print(f"| truncated | marco_it generated with a 600-character cap: {sum(was_cut)} replies cut | recall "
          f"{rate(f is not None for f, c in zip(found, was_cut) if c):.3f} | "
          f"{rate(f is not None for f, c in zip(found, was_cut) if not c):.4f} of {was_cut.count(False)} uncut |")


def seed_truncation() -> None:
    cima = read(SEED / "cima_tutoring_conversations.jsonl")
    found = TruncationFilter().find(cima)
    broken = [c[-1]["content"].rstrip().endswith("[ [") for c in cima]
    print(f"| truncated | CIMA: {sum(broken)} replies ending in `[ [` | recall "
          f"{rate(f is not None for f, b in zip(found, broken) if b):.3f} | "
          f"{rate(f is not None for f, b in zip(found, broken) if not b):.4f} of the {broken.count(False)} others |")


def aligned_pairs(cima: list[list[dict]]) -> list[list[dict]]:
    """CIMA conversations whose reply names the term its question asks about, in file order."""
    keep = []
    for c in cima:
        terms = asked_terms(c[0]["content"], 4)
        reply = c[1]["content"].casefold()
        if terms and all(mentions(set(re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", reply)), reply, t) for t in terms):
            keep.append(c)
    return keep


def alignment(use_model: bool) -> None:
    cima = read(SEED / "cima_tutoring_conversations.jsonl")
    asked = [bool(asked_terms(c[0]["content"], 4)) for c in cima]
    found = AlignmentFilter().find(cima)
    print(f"| misaligned | CIMA as shipped: {sum(asked)} questions asking a term | {sum(f is not None for f in found)}"
          f" flagged as shifted | {sum(f is not None for f, a in zip(found, asked) if not a)} of {asked.count(False)}"
          f" that ask no term |")
    pairs = aligned_pairs(cima)
    planted, shifted = [], []
    for block in range(0, len(pairs) - 9, 10):  # even blocks: each reply moved to the next question
        chunk = pairs[block: block + 10]
        if block // 10 % 2 == 0:
            chunk = [[chunk[i][0], chunk[i - 1][1]] for i in range(1, 10)]
        planted += chunk
        shifted += [block // 10 % 2 == 0] * len(chunk)
    found = AlignmentFilter().find(planted)
    # a moved reply that still names the asked term (the same word asked twice in a row) is no wrong answer
    wrong = [s and not aligned_pairs([c]) for c, s in zip(planted, shifted)]
    print(f"| misaligned | CIMA's {len(pairs)} aligned pairs, replies shifted by one in alternate blocks of 10 | "
          f"recall {rate(f is not None for f, w in zip(found, wrong) if w):.3f} of {sum(wrong)} moved replies "
          f"without the term | {rate(f is not None for f, s in zip(found, shifted) if not s):.4f} of "
          f"{shifted.count(False)} unshifted |")
    if use_model:
        ifd(planted, np.array(wrong), np.array([not s for s in shifted]), "same planted set")
        suspects = [f is not None for f in AlignmentFilter().find(cima)]
        questions = [c for c, a in zip(cima, asked) if a]
        flagged = np.array([f for f, a in zip(suspects, asked) if a])
        ifd(questions, flagged, ~flagged, "CIMA's term questions, split by the term check")


def ifd(conversations: list, positive, negative, name: str) -> None:
    """IFD with marco-tiny: medians and the share at or above the paper's threshold of 1, for both groups."""
    detector = AlignmentFilter(score_model="marco-tiny")
    started = time.perf_counter()
    detector.find(conversations)
    scores, seconds = np.array(detector.scores), time.perf_counter() - started
    print(f"| misaligned (IFD, marco-tiny) | {name}: {len(conversations)} pairs, {seconds:.0f} s | median IFD "
          f"{np.median(scores[positive]):.3f} misaligned ({positive.sum()}) vs {np.median(scores[negative]):.3f} "
          f"aligned ({negative.sum()}); IFD >= 1 in {np.mean(scores[positive] >= 1):.3f} of misaligned | "
          f"{np.mean(scores[negative] >= 1):.3f} of aligned |")


def speed(clean: list[str]) -> None:
    """Each detector on 100k conversations against orjson parsing the same JSONL."""
    import orjson

    rng = random.Random(1)
    conversations = [as_conversation(rng.choice(clean)) for _ in range(100_000)]
    lines = [orjson.dumps({"messages": c}) for c in conversations]
    started = time.perf_counter()
    parsed = [orjson.loads(line) for line in lines]
    parse = time.perf_counter() - started
    assert len(parsed) == len(conversations)
    for detector in (BoilerplateFilter(), TruncationFilter(), AlignmentFilter()):
        started = time.perf_counter()
        detector.find(conversations)
        seconds = time.perf_counter() - started
        print(f"| speed | {type(detector).__name__}, 100k conversations | {seconds:.2f} s | {seconds / parse:.1f}x an orjson "
              f"parse ({parse:.2f} s) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-model", action="store_true", help="skip the IFD scores (the slow part)")
    args = parser.parse_args()
    rng = random.Random(0)
    marco_it = clean_replies(ROOT / "data" / "marco_it.jsonl")
    print("| detector | set | recall / found | false positives |\n| --- | --- | --- | --- |")
    boilerplate(marco_it, "marco_it", rng)
    for name, held_out in (("held-out set 1 (tuned on after its first run)", HELD_OUT), ("held-out set 2", HELD_OUT_2)):
        found = BoilerplateFilter().find([as_conversation(d) for d in held_out])
        print(f"| boilerplate | {name}: {len(held_out)} wordings, alone | recall {rate(f is not None for f in found):.3f} | |")
    truncation(marco_it, rng)
    if SEED.exists():
        cima = clean_replies(SEED / "cima_tutoring_conversations.jsonl")
        boilerplate(cima, "CIMA tutors", rng)
        answers = [c[0]["content"].split("@ Risposta:", 1)[1] for c in read(SEED / "italian_conversations_teaching.jsonl")
                   if "@ Risposta:" in c[0]["content"]]
        found = BoilerplateFilter().find([as_conversation(a) for a in answers])
        print(f"| boilerplate | teaching file: {len(answers)} real LLM answers quoted in its prompts | "
              f"{sum(f is not None for f in found)} flagged | read by hand |")
        seed_truncation()
        alignment(not args.no_model)
    else:
        print("(../shared/seed-project not here: seed rows skipped)")
    speed(marco_it)


if __name__ == "__main__":
    main()
