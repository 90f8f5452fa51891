"""BoilerplateFilter: disclaimers in wordings of its own, look-alike tutoring replies that must stay, seed data."""

import json
from pathlib import Path

import pytest

from marco.data.boilerplate import BoilerplateFilter

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed-project"

DISCLAIMERS = [  # one per construction and language, in wordings the filter has no list of
    ("self", "Being merely a text-only AI, I'm not able to listen to your pronunciation, but here is the rule."),
    ("self", "Ottima domanda! Essendo solo un assistente digitale non riesco a sentire la tua voce."),
    ("self", "Como modelo de lenguaje, no tengo la capacidad de corregir tu acento en tiempo real."),
    ("self", "En tant qu'IA, je ne peux pas vérifier ta prononciation, mais voici la règle."),
    ("self", "Als KI-Sprachmodell kann ich deine Aussprache leider nicht hören."),
    ("self", "I'm just a computer program. I don't have a favourite Italian city, but many learners love Bologna."),
    ("cutoff", "As of my latest update in 2023, the exam had four parts; check the official site for changes."),
    ("cutoff", "I miei dati di addestramento arrivano al 2023, quindi controlla il sito ufficiale."),
    ("refusal", "I'm sorry, but I cannot help with writing your whole exam essay for you."),
    ("refusal", "Lo siento, pero no puedo proporcionar las respuestas del examen."),
    ("capability", "I don't have personal feelings about dialects, but here is how they differ."),
]
TUTORING = [  # look-alikes: AI as a topic, a human tutor's apology and limits, maths, a role noun
    "'Intelligenza artificiale' means 'artificial intelligence': intelligenza is feminine, so l'intelligenza.",
    "Come l'intelligenza artificiale, anche la parola 'algoritmo' viene dal greco e dall'arabo.",
    "Mi dispiace. I'm sorry, I misspoke. Box is scatola and DOG is cane. Can you try it again?",
    "So 3x + 5 = 50, and this translates to 3x = 45: divide both sides by 3 and x = 15.",
    "As an AI researcher, Dr. Rossi could not say 'sono d'accordo' without smiling.",
    "Sorry, I can't stress this enough: 'ai' is a preposition here, 'ai ragazzi' means 'to the boys'.",
    "I don't have a strong preference between 'tu' and 'Lei' here; both are polite enough with a colleague.",
    "Non posso dirti la risposta subito: prova prima a coniugare 'andare' al passato prossimo.",
    "Sono un'insegnante di italiano e come programma di oggi facciamo i verbi riflessivi.",
    "In this sentence, 'come un assistente' means 'like an assistant': Lavora come un assistente.",
]


def _replies(texts):
    return [[{"role": "user", "content": "Help me with Italian."}, {"role": "assistant", "content": t}] for t in texts]


@pytest.mark.parametrize("kind,text", DISCLAIMERS)
def test_each_construction_is_found_with_its_exact_evidence(kind, text):
    (finding,) = BoilerplateFilter().find(_replies([text]))
    assert finding is not None, text
    assert finding.reason == "boilerplate" and finding.field == "messages[1].content"
    assert text[finding.start: finding.end] == finding.evidence and finding.evidence in finding.detail


@pytest.mark.parametrize("text", TUTORING)
def test_look_alike_tutoring_replies_are_kept(text):
    assert BoilerplateFilter().find(_replies([text])) == [None]


def test_prompts_are_not_checked():
    role_play = [{"role": "system", "content": "As an AI therapist, you cannot give medical advice."},
                 {"role": "user", "content": "As an AI, you can't have feelings, right? Rispondi in italiano."},
                 {"role": "assistant", "content": "Esatto: in italiano diresti 'non hai sentimenti'."}]
    assert BoilerplateFilter().find([role_play]) == [None]


def test_only_the_disclaiming_conversation_is_flagged_and_in_order():
    texts = [TUTORING[0], DISCLAIMERS[3][1], TUTORING[2]]
    assert [f is not None for f in BoilerplateFilter().find(_replies(texts))] == [False, True, False]


def _seed(name):
    path = SEED / name
    if not path.exists():
        pytest.skip(f"needs ../shared/seed-project/{name}: not in this checkout")
    return [json.loads(line) for line in path.open(encoding="utf-8")]


def test_seed_llm_replies_with_disclaimers_are_found_and_cima_tutors_kept():
    answers = [r["messages"][0]["content"].split("@ Risposta:", 1)[1] for r in _seed("italian_conversations_teaching.jsonl")
               if "@ Risposta:" in r["messages"][0]["content"]]
    found = BoilerplateFilter().find(_replies(answers))
    assert sum(f is not None for f in found) >= 50  # 57 measured on the 2,221 quoted LLM answers
    cima = [r["messages"] for r in _seed("cima_tutoring_conversations.jsonl")]
    assert sum(f is not None for f in BoilerplateFilter().find(cima)) <= 0.01 * len(cima)
