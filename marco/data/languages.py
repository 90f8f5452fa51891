"""Function words of the five languages marco's filters read (English, Italian, Spanish, French, German): which
language a reply is written in, and which words cannot end a sentence in it.

Hand-written because the lists are short and closed; a stop-word library would add hundreds of content words
("first", "nuovo") that can end a sentence. A word that cannot end a sentence in the reply's own language, with no
final mark after it, is a cut; the same word from another language is a quoted word ("No, it should be e dietro
il" is English around an Italian article).
"""

import re

COMMON = {  # frequent words that mark the language (articles, prepositions, conjunctions, pronouns, auxiliaries)
    "en": "a an the of to in on at by for from with and or but nor so if as than that which who is are was were be "
          "been am do does did have has had not no my your his her its our their this these those very can will "
          "would should could may might must into onto about over under between through because while it you i how what "
          "when where why say ok yes all any some just like now then there here also only more",
    "it": "il lo la i gli le un uno una di da in con su per tra fra e ed o ma che se del dello della dei degli "
          "delle al allo alla ai agli alle dal dalla dai nel nello nella nei negli sul sulla sui come non mi ti si "
          "ci vi è sono ho ha molto anche questo questa perché più",
    "es": "el la los las un una unos unas de del y u pero que con sin sobre por para en mi tu su muy es son está "
          "como más este esta lo se no a al te me le sí",
    "fr": "le la les un une des du et ou mais que qui dans sur pour par avec sans ce cet cette ces mon ton son est "
          "sont très au aux je tu il nous vous ne pas",
    "de": "der die das den dem des ein eine einen einem einer und oder aber dass mit von zu zum zur für auf an im "
          "ist sind sehr nicht ich du es wir ihr sie",
}
COMMON = {lang: frozenset(words.split()) for lang, words in COMMON.items()}
FUNCTION_WORDS = frozenset().union(*COMMON.values())

# Words after which a sentence must go on: articles, conjunctions, prepositions that take an object, possessives.
NEVER_LAST = {
    "en": "a an the and or nor but of with from into onto than because although whether unless via my your our "
          "their its whose i here's if",
    "it": "il lo la i gli le un di da del dello della dei degli delle al allo alla ai agli alle dal dallo dalla "
          "dai dagli dalle nel nello nella nei negli nelle sul sullo sulla sui sugli sulle col coi e ed o od ma che "
          "se con per tra fra non oppure ovvero in a",
    "es": "el la los las un unos unas de del al y e o u pero que con sin por para en mi mis tu tus su sus muy "
          "sino aunque porque",
    "fr": "le les un une des du de au aux et ou mais que qu dans sur pour par avec sans ce cet cette ces mon ton "
          "son ma ta sa mes tes ses notre votre nos vos très car",
    "de": "der den dem des ein eine einen einem einer eines und oder dass weil ob wenn als sehr von für zum zur "
          "im beim vom",
}
# ... and words that rarely end one: auxiliaries and "to"-like particles, a cut only at the end of longer prose
# (German is verb-final: "..., wenn es nötig ist" ends on its auxiliary, so it has none here)
RARELY_LAST = {
    "en": "to is are was were been being has have had will would can could should must may might shall they we he she",
    "it": "è sono ho ha hanno era erano essere avere può possono deve devono",
    "es": "es son está están ha han era fue puede pueden debe",
    "fr": "est sont a ont était être avoir peut doit",
    "de": "",
}
NEVER_LAST = {lang: frozenset(words.split()) for lang, words in NEVER_LAST.items()}
RARELY_LAST = {lang: frozenset(words.split()) for lang, words in RARELY_LAST.items()}
# words that make a sentence alone ("Yes"): the other common words, alone after a sentence, start one that stops
STANDALONE = frozenset(["yes", "no", "ok", "okay", "sì", "sí", "oui", "non", "ja", "nein"])
_WORD = re.compile(r"[^\W\d_]+")
_ABBREVIATION = re.compile(r"\b(?:[^\W\d_]\.){2,}|\b[A-Z]{2,}\b")  # "e.g.", "AI": not the words "e", "ai"


def language_counts(text: str) -> dict[str, int]:
    """How many of the text's words are common words of each language, highest first."""
    counts = dict.fromkeys(COMMON, 0)
    for word in _WORD.findall(text.casefold()):
        for lang, words in COMMON.items():
            counts[lang] += word in words
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def mixed(text: str, lang: str) -> bool:
    """Whether the text's last sentence also holds common words of another language that are none of `lang`'s: two,
    or one in a sentence of up to 20 words ("e dietro means is behind the"). Only the last sentence: the quoted words
    a reply may end on are there; an "AI" or "e.g." earlier makes no English reply Italian."""
    text = _ABBREVIATION.sub(" ", text)
    words = _WORD.findall(text[max(text.rfind(mark) for mark in ".!?…\n") + 1:].casefold())
    needed = 1 if len(words) <= 20 else 2
    foreign = [w for w in words if w not in COMMON[lang]]
    return any(sum(w in COMMON[other] for w in foreign) >= needed for other in COMMON if other != lang)


def cannot_end(text: str, word: str, long_prose: bool) -> bool:
    """Whether `word`, the text's last word, leaves a sentence open in the text's own language. A text in two
    languages (a tutor glossing "e di fronte alla" as "is in front of the") is not judged unless it is long prose:
    its last words may be the mentioned phrase."""
    lang = _language(text)
    if lang is None or (not long_prose and mixed(text[-600:], lang)):
        return False
    word = word.casefold()
    return word in NEVER_LAST[lang] or (long_prose and word in RARELY_LAST[lang])


def needs_more(text: str, word: str) -> bool:
    """Whether `word`, alone in the text's last sentence, is a common word of the text's language that starts a
    sentence and cannot make one ("...exactly? Is", "```\nHere"); "Yes" can."""
    lang, word = _language(text), word.casefold()
    return lang is not None and word in COMMON[lang] and word not in STANDALONE


def _language(text: str) -> str | None:
    """The language of the text's last few sentences (None when they hold no common word of any)."""
    lang, top = next(iter(language_counts(text[-600:]).items()))
    return lang if top else None
