"""TruncationFilter: each kind of cut or open markup against a background of clean replies, look-alikes kept."""

import json
from pathlib import Path

import numpy as np
import pytest

from marco.data.truncation import TruncationFilter

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed-project"

BACKGROUND = [  # clean replies; their endings are what the filter learns as normal
    "Il passato prossimo si forma con avere o essere più il participio passato.",
    "Si dice «ho fame», non «sono fame».",
    "Tuttavia, con i verbi di movimento si usa quasi sempre essere.",
    "La capacità di ascoltare conta più della grammatica all'inizio!",
    "Vuoi provare con un'altra frase?",
    "Say *mi piace il caffè*, not *io piaccio il caffè*.",
    "The article changes before a vowel (l'amico, l'acqua).",
    "Nice: **ho mangiato** is exactly right.",
    "Use `essere` with reflexive verbs: mi sono alzato.",
    "Ci vediamo alle 10:30 davanti alla stazione.",
    "Esatto, e la forma di cortesia è Lei [con la maiuscola].",
    "In German it would be *ich habe gegessen*, with the same auxiliary.",
]
CUT = {  # reason -> a reply with that defect
    "broken tail": "Please try to fill in the blank in Italian. Grammar note: [ [",
    "empty label": "Ecco la regola generale.\n\nEsempi:",
    "open bracket at the end": "I verbi che prendono essere sono (",
    "open bold": "Remember: **il ragazzo is masculine, and so is il problema.",
    "open parenthesis": "The article (il, lo changes before a vowel, as in l'amico.",
    "open backtick": "Use `andare with a and `venire` with da.",
    "open code fence": "Try this:\n```python\nprint('ciao')",
    "ellipsis inside a word": "You need more capa...cità to follow, sorry.",
    "ellipsis cutting a word": "Bene, hai ragione. Tutt...",
    "ellipsis cutting a sentence": "La regola è semplice: dopo penso che il verbo...",
    "no final punctuation": "Il congiuntivo si usa dopo i verbi di opinione come pensare e credere quando",
    "a word cut off": "Remember that the article changes before a vowel, as in l'amico and l'acq",
}
KEPT = {  # look-alikes
    "smiley": "Bravissimo :)",
    "sad emoticon": "Peccato, era quasi giusto :(",
    "ellipsis as style": "Hmm... quasi. Riprova!",
    "lettered list": "Scegli: a) il b) lo c) la.",
    "parenthesis inside code": "Run it:\n```\nprint(\n```\nIt fails on purpose.",
    "ASCII accent": "Si dice perche` e citta` se la tastiera non ha gli accenti.",
    "label with content": "Grammar note: the article agrees with the noun.",
    "closing italics": "They chant *Bacio! Bacio!*",
    "list trailing off": "Qui vendiamo souvenir, cartoline, calamite...",
    "placeholder in parentheses": "Answer with the quantity (*un chilo di...* = a kilo of...)",
}


CORPUS = ["Bene. " * i + reply for i in range(10) for reply in BACKGROUND]  # 120 replies, all punctuated, no two
# of the longest ones of one length (that would be a length cap)


def _conversations(replies):
    return [[{"role": "user", "content": "Aiutami."}, {"role": "assistant", "content": r}] for r in replies]


def _finding(reply, **options):
    return TruncationFilter(**options).find(_conversations(CORPUS + [reply]))[-1]


@pytest.mark.parametrize("kind", CUT)
def test_each_kind_of_cut_is_found_with_exact_evidence(kind):
    finding = _finding(CUT[kind])
    assert finding is not None, kind
    assert finding.reason == "truncated" and finding.field == "messages[1].content"
    assert CUT[kind][finding.start: finding.end] == finding.evidence


@pytest.mark.parametrize("kind", KEPT)
def test_look_alikes_are_kept(kind):
    assert _finding(KEPT[kind]) is None, kind


def test_background_is_clean():
    assert TruncationFilter().find(_conversations(CORPUS)) == [None] * len(CORPUS)


def test_a_length_cap_shared_by_distinct_replies_is_found_and_duplicates_are_not():
    long = [f"Reply number {i}: the verb piacere agrees with the thing liked, so mi piacciono i libri. " * 3
            for i in range(6)]
    capped = [text[:150] for text in long]  # six distinct replies stopped at 150 characters
    found = TruncationFilter().find(_conversations(BACKGROUND + capped))
    assert all(f is not None and "length limit" in f.detail for f in found[len(BACKGROUND):])
    copies = [capped[0].rstrip() + "."] * 6  # one reply six times is a duplicate, not a cap
    assert TruncationFilter().find(_conversations(BACKGROUND + copies))[len(BACKGROUND):] == [None] * 6


def test_an_open_word_is_a_cut_in_any_corpus_and_a_quoted_one_is_not():
    usual = [f"ok blue is blu number {i}" for i in range(40)]  # 40 in 160 end on a letter: that is the style
    found = TruncationFilter().find(_conversations(CORPUS + usual + ["e di fronte alla", "No, it should be e dietro il",
                                                                     "e dietro means is behind the"]))
    assert [f is not None for f in found[-3:]] == [True, False, False]
    assert 'on "alla"' in found[-3].detail


def test_cima_broken_tails_are_found():
    path = SEED / "cima_tutoring_conversations.jsonl"
    if not path.exists():
        pytest.skip("needs ../shared/seed-project/cima_tutoring_conversations.jsonl: not in this checkout")
    conversations = [json.loads(line)["messages"] for line in path.open(encoding="utf-8")]
    found = TruncationFilter().find(conversations)
    broken = [i for i, c in enumerate(conversations) if c[-1]["content"].rstrip().endswith("[ [")]
    assert all(found[i] is not None for i in broken)
    others = len(conversations) - len(broken)
    assert sum(f is not None for f in found) - len(broken) <= 0.01 * others


# A mixed corpus (code, lists, tables, chat) ends many complete replies without a final stop, so the per-reply
# endings must hold on their own there: these are cut in any corpus ...
MIXED = [*CORPUS, *(f"Run it:\n```python\nprint({i})\n```" for i in range(20)),
         *(f"Options:\n- tomato sauce\n- pesto number {i}" for i in range(20)),
         *(f"| word | meaning |\n| --- | --- |\n| casa {i} | house |" for i in range(20)), *("Sì" for _ in range(20))]
OPEN_IN_ANY_CORPUS = {
    "comma": "Mix the flour, the eggs, a pinch of salt,",
    "colon": "There are three ways to say it in Italian, and each one fits a different register:",
    "a word that cannot end": "Fry the onion, add soy sauce, grated ginger, garlic, salt, and",
    "an article": "The useState hook lets you manage state with a",
    "Italian article": "Per fare il ragù serve un soffritto di cipolla, carota e sedano, poi la carne e il",
    "open quotation": 'The error message says "cannot import name',
    "table row": "| word | meaning |\n| --- | --- |\n| casa | house |\n| cane",
    "list item": "Steps:\n1. Boil the water.\n2. Add the salt.\n3. Add the pasta and",
    "short last item": "Tips:\n- Read every day.\n- Speak with natives.\n- Write a short diary",
    "code cut mid-statement": "Here:\n```js\nconst a = 1;\nconst b = 2;\nconst c = 3;\nconst total = a +\n```",
    "code with a bracket open": "Here:\n```python\nconfig = {\n    'lr': 1e-4,\n    'epochs': 3,\n```",
    "a word it wrote whole before": "ImageMagick may be missing. Reinstall ImageMagick, then try checking the Image",
    "a sentence it began before": "Please check the code. #Warning: experimental. Please check the code. #Warning: experimental. Please",
    "a second item cut short": "Benefits:\n1. Renewable source: the heat of the Earth is always there.\n2. Low",
    "table cells left empty": "| id | qty | date |\n| --- | --- | --- |\n| 1 | 100 | 2022-09-01 |\n| 2 |  |  |",
    "a lead-in with nothing after it": "Here is a Python 3 file that extracts the text from any website.",
    "a bare keyword closing the code": "Here:\n```python\nimport os\nprint(os.getcwd())\nclass\n```",
    "Chinese mid-sentence": "這是第一句。這是第二句。然後我們可以透過與他人",
    "a second item under a lettered head": "e) The advantages include:\n\n1. Renewable: the Earth's heat is always there.\n2. Low",
    "a string left open in code": 'import requests\n\nurl = "https://www.',
    "a call without its arguments": 'ROOM = os.environ.get("ROOM")\nUSER = os.environ.get("USER")\nPASSWORD = os.environ.get',
    "a sentence stopped on its first word": "• Power - Who decides what gets created? Where does this authority come from? In",
    "a lone first word after code": "Draw it:\n```js\nctx.arc(x, y, r, 0, 2 * Math.PI);\nctx.fill();\n```\nHere",
    "a promise and nothing else": "I'm not sure I can help with speedruns, but I can give you some tips on how to beat the game faster.",
    "a loop": "An LLM is a law degree. It is a postgraduate law degree. It is a postgraduate law degree. It is a postgraduate law degree",
    "a title with nothing under it": "Holidays:\n\n1. Day of Peace\n\nIt is a day of reflection on peace.\n\n2. Women's Day",
    "a table's last cell left empty": "| a | dose |\n| --- | --- |\n| x | 1 mg |\n| y | 2 mg |\n| z | 3 mg |\n| w |  |",
    "a table's last cell stopped short": ("| Idea | How |\n| --- | --- |\n| Events | Host local events. |\n| Merch | Sell t-shirts. |\n"
                                          "| Ads | Use social media ads. |\n| Outdoor | Consider outdoor advertising, such as billboards |"),
    "a preposition after an acronym earlier": "AI helps doctors, e.g. with scans.\n4. A talk on the specific capabilities of",
    "a quotation opening on a digit": ' > "2) Who would fit such a partnership?"\n\n > "3) What kind of pricing',
}
# ... and these are complete, in a corpus that ends replies without a stop
COMPLETE_WITHOUT_A_STOP = {
    "quoted Italian article": "No, it should be e dietro il",
    "gloss of a mentioned phrase": "e dietro means is behind the",
    "code ending on a name": "Try:\n    x = a",
    "list without stops": "You need:\n- flour\n- eggs\n- a pinch of salt",
    "table": "| word | meaning |\n| --- | --- |\n| casa | house |",
    "sign-off": "I will send the recipe tomorrow.\n\nBest regards,\nKip",
    "hashtags": "Our new menu is out! Come and try it. #pasta #Bologna",
    "statement ending on a semicolon": "div.innerHTML = 'Ciao';\ndocument.body.appendChild(div);",
    "a converter's stray fence": "```\nUna storia.\n```\nLa storia finisce qui.\n```\n\n```",
    "repeated list item": "Ideas:\n1. SeaWorld\n2. Zoo\n3. SeaWorld",
    "a lead-in with its link": "Here's a [training split](https://example.org/split) for you.",
    "a run of short lines": "Numeri utili.\n1522 – Antiviolenza donna\n1525 – Soccorso ambientale\n1533 – Prenotazione sanitaria",
    "a story's last words": "He had finally found the belonging he had always been searching for. The end",
    "a lead-in answered": "Here's a hint: 'blue' is 'blu'.",
    "a drawing's last line": "A cat:\n /\\_/\\\n( o.o )\n -  -  -",
    "a sign-off without a name": "I will send the recipe tomorrow.\n\nBest regards,",
    "a sign-off by Will": "I will send the recipe tomorrow.\n\nBest,\nWill",
    "code that closes its strings": 'row = "A1:" + str(sheet["A"]).strip(",").split()[2]',
    "a function named, not called": "fn = math.sqrt",
    "a one-word answer": "Is the article right? Yes",
    "a promise on a condition": "I can give you some tips if you tell me your level.",
    "a numbered list of one title": "1. The Wyrms of Avalon\n2. The Wyrms of Avalon\n3. The Wyrms of Avalon",
    "a code span ending on a vowel": "```\nx = 1`\n```\nClone it with `git clone` first.",
    "titles with their paragraphs": "1. Day of Peace\n\nIt is a day of reflection.\n\n2. Women's Day\n\nIt is a day for women.",
    "a continued code block closed with a label": ("y = 2;\n}\n```vbnet\n\nNotez que ce code marche.\n```html\n"
                                                   '<link rel="stylesheet" href="all.css" />\n\n```'),
    "a table with a blank row to fill": "| a | b |\n| --- | --- |\n| x | 1 |\n| y | 2 |\n| z | 3 |\n|  |  |",
    "a table whose cells have no stops": ("| Idea | How |\n| --- | --- |\n| Events | Host local events |\n| Merch | Sell t-shirts |\n"
                                          "| Ads | Use social media ads |\n| Outdoor | Consider outdoor advertising, such as billboards |"),
}


@pytest.mark.parametrize("kind", OPEN_IN_ANY_CORPUS)
def test_an_open_ending_is_a_cut_even_where_the_corpus_often_ends_without_a_stop(kind):
    finding = TruncationFilter().find(_conversations(MIXED + [OPEN_IN_ANY_CORPUS[kind]]))[-1]
    assert finding is not None, kind
    assert OPEN_IN_ANY_CORPUS[kind][finding.start: finding.end] == finding.evidence


@pytest.mark.parametrize("kind", COMPLETE_WITHOUT_A_STOP)
def test_complete_replies_without_a_final_stop_are_kept_in_a_mixed_corpus(kind):
    assert TruncationFilter().find(_conversations(MIXED + [COMPLETE_WITHOUT_A_STOP[kind]]))[-1] is None, kind


def test_long_prose_without_a_stop_is_a_cut_only_where_the_corpus_writes_long_replies():
    long = "The passato prossimo uses avere with most verbs. " * 12 + "With verbs of motion you use essere and the"
    shorter = [f"Reply {i}: " + "it takes avere here. " * 2 for i in range(40)]
    found = TruncationFilter().find(_conversations(MIXED + shorter + [long[:-8] + " participle"]))
    assert "ends mid-sentence" in found[-1].detail
    style = "Ok so the cat is gatto. Now say the whole sentence please"  # a tutor's short chat message
    assert TruncationFilter().find(_conversations(MIXED + shorter + [style]))[-1] is None


def test_the_score_model_flags_replies_it_would_not_end_there_relative_to_the_corpus():
    replies = [f"La risposta {'molto ' * i}giusta." for i in range(12)]
    detector = TruncationFilter(score_model="marco-tiny", end_max_probability=1.0)
    found = detector.find(_conversations(replies))
    probability = detector.end_probability
    assert probability.shape == (12,) and ((probability > 0) & (probability < 1)).all()
    bar = 0.1 * float(np.median(probability))  # a tenth of the corpus's median: a model that ends all alike flags none
    assert [i for i, f in enumerate(found) if f is not None] == [i for i, p in enumerate(probability) if p < bar]
    assert all("end-of-turn probability" in f.detail for f in found if f is not None)


def test_the_end_of_a_reply_is_the_chat_templates_end_token():
    path = SEED.parent / "tokenizers" / "qwen2.5-7b-instruct"
    if not path.exists():
        pytest.skip("needs ../shared/tokenizers/qwen2.5-7b-instruct: not in this checkout")
    from transformers import AutoTokenizer

    from marco.data.score_model import end_of_turn_id

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    assert tokenizer.convert_ids_to_tokens(end_of_turn_id(tokenizer)) == "<|im_end|>"
