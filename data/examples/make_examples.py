"""Rebuild the two failure reproductions in this folder: `python data/examples/make_examples.py`.

- v1_templated.jsonl: Italian-tutor data in the style of the failed v1 (formulaic "Great question! This
  translates to ..." replies, a second unlisted frame, wrong grammar claims), mixed with a few honest replies.
- finance_duplicated.jsonl: the finance Q&A mock data, 8 topics x 62 samples of the same question and answer
  (some re-punctuated or re-cased, some with one word changed), in prompt/completion format.
"""

import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

SENTENCES = [
    ("Sono andato al mare", "I went to the sea"), ("Ho mangiato una pizza", "I ate a pizza"),
    ("Mi piace il caffè", "I like coffee"), ("Vorrei un bicchiere d'acqua", "I would like a glass of water"),
    ("Dove si trova la stazione?", "Where is the station?"), ("Abbiamo visto un film ieri", "We saw a film yesterday"),
    ("Lei è la mia professoressa", "She is my teacher"), ("Non lo so", "I don't know"),
    ("Ci vediamo domani", "See you tomorrow"), ("Quanto costa questo libro?", "How much does this book cost?"),
    ("Mia sorella vive a Roma", "My sister lives in Rome"), ("Fa freddo oggi", "It is cold today"),
    ("Devo andare al lavoro", "I have to go to work"), ("Siamo arrivati tardi", "We arrived late"),
    ("Ti ho chiamato stamattina", "I called you this morning"), ("Le chiavi sono sul tavolo", "The keys are on the table"),
    ("Che ore sono?", "What time is it?"), ("Mi sono svegliato presto", "I woke up early"),
    ("Vado in biblioteca", "I'm going to the library"), ("Hai fame?", "Are you hungry?"),
    ("Lavoro in una banca", "I work in a bank"), ("Il treno parte alle otto", "The train leaves at eight"),
    ("Ho bisogno di aiuto", "I need help"), ("Le ragazze sono uscite", "The girls went out"),
    ("Ci sono tre gatti", "There are three cats"), ("Non c'è problema", "No problem"),
    ("Ho comprato il pane", "I bought the bread"), ("Si mangia bene qui", "One eats well here"),
    ("Ne voglio due", "I want two of them"), ("Me lo dai?", "Will you give it to me?"),
]
WRONG_CLAIMS = ["uses role reversal, where the subject and object are switched", "uses the future subjunctive",
                "is a passive construction", "puts the verb in the dative case", "uses an inverted article"]
QUESTIONS = ["Explain the grammar in '{it}'", "What does '{it}' mean?", "Can you translate '{it}'?",
             "How do I use '{it}'?", "Is '{it}' correct Italian?"]
HONEST = [
    ("How do I say 'I miss you' in Italian?", "Mi manchi. The verb mancare works backwards compared with English: "
     "the person who is missed is the subject, so 'I miss you' literally becomes 'you are lacking to me'."),
    ("Why is it 'la mano' if it ends in -o?", "Mano is one of the few feminine nouns in -o, a leftover of Latin "
     "manus, which was feminine. The plural is le mani."),
    ("When do I use 'ci' with 'vuole'?", "Ci vuole / ci vogliono means 'it takes': ci vuole un'ora, ci vogliono "
     "due ore. The verb agrees with what is needed, not with a person."),
    ("Is 'un po'' written with an apostrophe?", "Yes: un po' is short for un poco, so it takes an apostrophe, "
     "never an accent. 'Un pò' is a common spelling mistake."),
    ("What's the difference between 'sapere' and 'conoscere'?", "Sapere is for facts and skills (so nuotare, so "
     "che sei qui); conoscere is for people, places and being familiar with something (conosco Marco, conosco Roma)."),
]


def v1_templated(rng: random.Random) -> list:
    records = []
    for n in range(150):
        it, en = SENTENCES[n % len(SENTENCES)]
        question = QUESTIONS[(n // len(SENTENCES)) % len(QUESTIONS)].format(it=it)
        if n % 3 == 2:
            reply = (f"Nice try! The phrase '{it}' is something you will hear every day in Italy. "
                     f"Remember: practice makes perfect, so say it out loud three times.")
        else:
            reply = (f"Great question! This translates to '{en}'. This sentence {rng.choice(WRONG_CLAIMS)}. "
                     f"I hope this helps!")
        records.append({"id": f"v1-{n:03d}", "topic": "grammar" if "grammar" in question else "translation",
                        "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]})
    for n, (question, reply) in enumerate(HONEST):
        records.append({"id": f"v1-ok-{n}", "topic": "vocabulary",
                        "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]})
    rng.shuffle(records)
    return records


FINANCE = {
    "MAS": ("What does MAS stand for?", "MAS stands for the Monetary Authority of Singapore, Singapore's central "
            "bank and integrated financial regulator."),
    "currency": ("What is the currency of Singapore?", "The Singapore dollar (SGD), issued by the Monetary "
                 "Authority of Singapore."),
    "banking": ("Who regulates banks in Singapore?", "Banks in Singapore are licensed and supervised by the "
                "Monetary Authority of Singapore under the Banking Act."),
    "CPF": ("What is the CPF?", "The Central Provident Fund is Singapore's mandatory social security savings "
            "scheme, funded by employer and employee contributions."),
    "SGX": ("What is SGX?", "SGX is the Singapore Exchange, the country's securities and derivatives exchange, "
            "regulated by MAS."),
    "AML": ("What are AML obligations for Singapore banks?", "Under MAS Notice 626, banks must identify and verify "
            "customers, monitor transactions and report suspicious transactions to the STRO."),
    "insurance": ("Who regulates insurers in Singapore?", "Insurers are regulated by MAS under the Insurance Act."),
    "payments": ("What law governs payment services in Singapore?", "The Payment Services Act 2019, administered "
                 "by MAS, licenses payment service providers including digital payment token services."),
}


def finance_duplicated(rng: random.Random) -> list:
    records = []
    for topic, (question, answer) in FINANCE.items():
        for n in range(62):
            q, a = question, answer
            if n % 5 == 1:
                q, a = q.lower(), a.upper()  # same after normalisation: exact duplicate
            elif n % 5 == 2:
                a = a.replace(".", "!")  # punctuation only: exact duplicate
            elif n == 3:
                a = a + " Correct."  # one word more: a near duplicate
            records.append({"id": f"fin-{topic}-{n:02d}", "topic": topic, "prompt": q, "completion": a})
    rng.shuffle(records)
    return records


def write(name: str, records: list) -> None:
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


if __name__ == "__main__":
    write("v1_templated.jsonl", v1_templated(random.Random(0)))
    write("finance_duplicated.jsonl", finance_duplicated(random.Random(0)))
