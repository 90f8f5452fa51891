"""LLM boilerplate in assistant replies: AI disclaimers, refusals, knowledge-cut-off notes (reason `boilerplate`).

Matches the construction, not fixed sentences, so wordings in no list are found too:
- self-reference + limitation: the speaker calls itself an AI / model / assistant / program ("As an AI language
  model", "Sono solo un programma", "En tant qu'IA", "Als KI-Sprachmodell") and, in the same or the next sentence,
  states a first-person limitation or an apology ("I cannot", "non ho accesso", "no puedo", "je ne peux pas",
  "ich kann nicht", "mi dispiace");
- knowledge cut-off: a first-person possessive + training / last update / cut-off ("as of my last update",
  "i miei dati di addestramento", "mi fecha de corte");
- refusal: an apology + a first-person "cannot" + a task verb ("I'm sorry, but I can't help with that",
  "Mi dispiace, ma non posso fornire...");
- capability disclaimer: a first-person "I do not have" + what only an AI lacks ("access to real-time data",
  "opinioni personali", "sentimientos").
"AI"/"IA"/"KI" match in capitals only ("ai clienti" is Italian for "to the customers"), and a role after the noun
("As an AI therapist", "come assistente di volo") is no self-reference. Only assistant turns are checked, so a
system or user prompt that sets up a role-play never fires. Thresholds: none; the Measure targets of issue 13
(recall >= 0.9 at 1 in 80 conversations, <= 1% of clean tutoring replies lost) are checked by
benchmarks/bench_filters.py.
"""

import bisect
import itertools
import re

from .findings import Detector, Finding

_SEP = "\x00"  # joins replies so each trigger word is found in one str.find pass
_WINDOW = 300  # characters after a self-reference in which its limitation must appear
_QUOTE_CHARS = 160  # longest evidence quoted in a detail line

_AI = r"(?-i:AI|A\.I\.|IA|KI|LLM|GPT)"  # capitals only
_ROLE_AFTER = (r"(?!\s+(?:therapist|researcher|engineer|expert|scientist|developer|ethicist|tutor|teacher|coach|"
               r"character|persona|specialist|enthusiast|company|startup|lab|course|class|project|policy|art|"
               r"di\s+volo|clinic|medic|ricercat|espert|sviluppat|ingegner|docente|insegnant|personaggio|"
               r"investigador|experto|chercheur|expert|Forscher|Experte|Entwickler)\w*)")
# the noun the speaker calls itself, with the modifiers LLMs put around it
_SELF_NOUN = (
    rf"(?:(?:large|big|text-based|text-only|digital|virtual|conversational|generative|computer|pre-?trained|{_AI})[\s-]+)*"
    rf"(?:{_AI}(?:[\s-]+(?:language\s+)?(?:model|system|assistant|chatbot|program))?|language\s+model|"
    r"chatbot|chat\s*bot|bot|assistant|computer\s+program|program|machine|artificial\s+intelligence|"
    rf"modell[oi]\s+(?:di\s+)?(?:linguaggio|lingua|linguistico)(?:\s+{_AI})?(?:\s+di\s+grandi\s+dimensioni)?|"
    rf"modell[oi](?:\s+{_AI})|assistente(?:\s+(?:virtuale|digitale|{_AI}))?|intelligenza\s+artificiale|"
    rf"programma(?:\s+(?:informatico|per\s+computer))?|"
    rf"modelo\s+de\s+(?:lenguaje|idioma)(?:\s+{_AI})?|asistente(?:\s+(?:virtual|digital|{_AI}))?|"
    r"inteligencia\s+artificial|programa(?:\s+informático)?|"
    rf"modèle\s+de\s+(?:langage|langue)(?:\s+{_AI})?|assistant(?:e)?\s+(?:virtuel(?:le)?|numérique)|"
    r"intelligence\s+artificielle|programme(?:\s+informatique)?|"
    rf"(?:{_AI}-)?Sprachmodell|{_AI}-(?:Modell|Assistent(?:in)?|System)|Assistent(?:in)?|künstliche\s+Intelligenz|"
    r"Computerprogramm|Programm)"
) + _ROLE_AFTER + r"(?![\w-])"
_ART = r"(?:an?|the|one|un[ao]?|un'|un’|una|une|ein(?:e|en)?|el|la|le|il)\s*"
_SELF = (
    r"\b(?:as|being|i\s+am|i'm|i’m|since\s+i\s+am|because\s+i(?:'m|\s+am))\s+(?:just\s+|only\s+|merely\s+|simply\s+)?"
    rf"(?:{_ART})?{_SELF_NOUN}"
    r"|\b(?:come|in\s+quanto|essendo|sono|io\s+sono|di\s+essere)\s+"
    rf"(?:solo\s+|soltanto\s+|semplicemente\s+|solamente\s+)?(?:{_ART})?{_SELF_NOUN}"
    rf"|\b(?:como|siendo|soy|yo\s+soy|ser)\s+(?:solo\s+|sólo\s+|solamente\s+|simplemente\s+)?(?:{_ART})?{_SELF_NOUN}"
    r"|\b(?:en\s+tant\s+qu(?:e\s+|'|’)|comme\s+|étant\s+|je\s+suis\s+(?:seulement\s+|juste\s+|simplement\s+)?)"
    rf"(?:{_ART})?{_SELF_NOUN}"
    rf"|\b(?:als\s+|ich\s+bin\s+(?:nur\s+|lediglich\s+|bloß\s+)?)(?:{_ART})?{_SELF_NOUN}"
    rf"|\b(?:da|weil|wenn|obwohl)\s+ich\s+(?:nur\s+|lediglich\s+|bloß\s+)?(?:{_ART})?{_SELF_NOUN}\s+bin"
)
_CUTOFF = (
    r"\b(?:my|as\s+of\s+my)\s+(?:(?:last|latest|most\s+recent)\s+)?(?:knowledge\s+)?(?:cut-?\s?off|training(?:\s+data)?|"
    r"(?:knowledge\s+|last\s+|latest\s+)update)"
    r"|\b(?:mio|mia|miei|mie)\s+(?:ultim[oa]\s+)?(?:aggiornamento|addestramento|dati\s+di\s+(?:addestramento|training)|"
    r"data\s+(?:di\s+)?(?:cut-?off|limite)|cut-?off|conoscenze?\s+(?:si\s+ferma|arriva|è\s+aggiornata))"
    r"|\bmis?\s+(?:(?:última|ultima)\s+actualización|datos\s+de\s+entrenamiento|entrenamiento|fecha\s+de\s+corte|"
    r"conocimientos?\s+(?:llega|se\s+detiene|está\s+actualizado))"
    r"|\b(?:ma|mes|mon)\s+(?:dernière\s+mise\s+à\s+jour|données\s+d'(?:entraînement|apprentissage)|entraînement|"
    r"date\s+limite|connaissances\s+s'arrêtent)"
    r"|\b(?:mein|meine|meinem|meines|meiner|meinen)\s+(?:Wissensstand|Trainingsdaten|Training|letzte[nm]?\s+Aktualisierung|"
    r"Wissen\s+reicht)"
)
_SORRY = (r"(?:i'm\s+sorry|i\s+am\s+sorry|sorry|i\s+apologi[sz]e|apologies|my\s+apologies|unfortunately|mi\s+dispiace|mi\s+scuso|purtroppo|"
          r"spiacente|lo\s+siento|lamentablemente|disculp[ae]|désolée?|malheureusement|je\s+m'excuse|"
          r"es\s+tut\s+mir\s+leid|tut\s+mir\s+leid|leider|entschuldig\w*)")
_TASK = (r"(?:help|assist|provide|create|generate|fulfil+|comply|answer|support|access|browse|draw|display|view|"
         r"perform|write|engage|complete|produce|share|offer|retrieve|make|determine|predict|do\s+th(?:at|is)|"
         r"aiutar|assister|fornir|crear|generar|rispondere|accedere|visualizzar|vedere|disegnar|mostrar|eseguir|"
         r"soddisfar|scriver|produrr|elaborar|condivider|recuperar|navigar|offrir|determinar|prevedere|prever|"
         r"ayudar|proporcionar|generar|responder|acceder|ver|dibujar|mostrar|realizar|escribir|ofrecer|"
         r"aider|fournir|créer|générer|répondre|accéder|voir|dessiner|afficher|écrire|"
         r"helfen|bereitstellen|erstellen|generieren|antworten|zugreifen|sehen|zeichnen|anzeigen|schreiben)")
_CANNOT = (r"(?:i['’]m\s+(?:not\s+able|unable)\s+to|i\s+(?:can't|can’t|cannot|can\s+not|am\s+(?:not\s+able|unable)\s+to|won't|"
           r"will\s+not|must\s+decline\s+to|"
           r"do\s+not\s+have\s+the\s+ability\s+to)"
           r"|(?:io\s+)?non\s+(?:posso|sono\s+in\s+grado\s+di|riesco\s+a|ho\s+la\s+(?:capacità|possibilità)\s+di)"
           r"|(?:yo\s+)?no\s+(?:puedo|soy\s+capaz\s+de|tengo\s+la\s+capacidad\s+de)"
           r"|je\s+ne\s+(?:peux|suis\s+pas\s+en\s+mesure\s+d[e'])\s*(?:pas\s+)?"
           r"|ich\s+(?:kann|darf)\s+(?:\w+\s+){0,4}?(?:nicht|keine?n?))")
_REFUSAL = rf"\b{_SORRY}[,.!]?\s+(?:(?:but|ma|pero|pero|mais|aber)\s+)?{_CANNOT}\s+(?:\w+\s+){{0,3}}?{_TASK}"
_CAPABILITY = (
    r"\bi\s+(?:do\s+not|don't|don’t)\s+have\s+(?:any\s+)?(?:access\s+to\s+(?:the\s+internet|real-time|current|live|external|"
    r"the\s+web|your)|real-time\s+(?:information|data|access)|personal\s+(?:opinions|feelings|emotions|beliefs|preferences)|"
    r"feelings|emotions|consciousness|a\s+(?:physical\s+)?body)"
    r"|\bnon\s+(?:ho|possiedo)\s+(?:alcun\s+)?"
    r"(?:accesso\s+(?:a\s+internet|a\s+informazioni|ai\s+dati|alle\s+informazioni|in\s+tempo)|"
    r"opinioni\s+personali|sentimenti|emozioni|esperienze\s+personali|un\s+corpo|una\s+coscienza)"
    r"|\bno\s+tengo\s+(?:acceso\s+a\s+(?:internet|información|datos)|opiniones\s+personales|sentimientos|emociones|un\s+cuerpo)"
    r"|\bje\s+n'ai\s+pas\s+(?:accès\s+à\s+(?:internet|des\s+informations)|d'opinions?\s+personnelles?|de\s+sentiments|"
    r"d'émotions|de\s+corps)"
    r"|\bich\s+habe\s+(?:keinen\s+Zugriff\s+auf\s+(?:das\s+Internet|Echtzeit)|keine\s+(?:persönliche[nm]?\s+Meinung|Gefühle|"
    r"Emotionen|Echtzeit))"
)
# a first-person limitation or an apology, in the sentence of a self-reference or the next one
_LIMITATION = re.compile(
    rf"{_SORRY}|{_CANNOT}|\bi\s+(?:do\s+not|don't|don’t|lack|have\s+no|am\s+not|never)\b|\bi['’]m\s+not\b|"
    r"\bnon\s+(?:ho|sono|posso|possiedo|riesco)\b|\bno\s+(?:tengo|soy|puedo|poseo)\b|\bje\s+n['’]|\bje\s+ne\b|"
    r"\b(?:ich\s+)?(?:habe\s+kein|bin\s+nicht|kann\s+nicht)|\bkann\s+ich\b|\bnicht\s+in\s+der\s+Lage\b|"
    r"\bnon\s+\w+o\b|\bno\s+\w+o\b|\bit(?:\s+is|'s)\s+(?:difficult|impossible|not\s+possible)\b|"
    r"\b(?:unable|not\s+able|not\s+capable|limited|limitat[oaie]|incapace|incapaz|incapable)\b",
    re.IGNORECASE)
# Each kind's regex runs only around a word every one of its matches contains (found by str.find, C speed, in
# lower-cased text; the capitals-only ones as written), in a span from `before` characters ahead of that word
# to `after` past it: the case-insensitive regexes scan ~1.5 MB/s, str.find ~1 GB/s.
_TRIGGERS = {  # kind: (words in lower case, words as written, before, after)
    "self": (("model", "modèl", "assist", "asist", "program", "chatbot", "chat bot", " bot", "-bot", "intelligen",
              "inteligen", "machine", "llm", "gpt"), ("AI", "A.I.", "IA", "KI"), 120, 80),
    "cutoff": (("update", "training", "aggiornament", "addestrament", "cut-off", "cutoff", "cut off", "limite",
                "conoscenz", "actualizaci", "entrenamient", "fecha de corte", "conocimient", "mise à", "entraîn",
                "apprentissage", "connaissances", "wissen", "aktualisierung"), (), 50, 80),
    "refusal": (("sorry", "apologi", "unfortunately", "dispiace", "scuso", "purtroppo", "spiacent", "siento",
                 "lamentablemente", "disculp", "désolé", "malheureusement", "excuse", "leid", "entschuldig"), (), 16, 160),
    "capability": (("don't have", "do not have", "don’t have", "non ho", "non possiedo", "no tengo", "n'ai pas",
                    "habe kein"), (), 8, 100),
}
_PATTERNS = {kind: re.compile(pattern, re.IGNORECASE) for kind, pattern in
             {"self": _SELF, "cutoff": _CUTOFF, "refusal": _REFUSAL, "capability": _CAPABILITY}.items()}
_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)|\n")
_LABELS = {"self": "AI disclaimer", "cutoff": "knowledge cut-off note", "refusal": "refusal",
           "capability": "AI capability disclaimer"}


def candidates(replies: list[str]) -> dict[int, list[tuple[int, str, int, int]]]:
    """Per reply holding a trigger word, the spans to search: (start, kind, start, end), merged per kind. The words
    are found in the UTF-8 bytes of the joined replies: one emoji makes a joined str four bytes a character, and
    every one of the ~60 passes would read four times the bytes."""
    hits = {}
    for as_written, texts in ((False, [reply.lower() for reply in replies]), (True, replies)):
        encoded = [text.encode() for text in texts]
        starts = [0, *itertools.accumulate(len(e) + 1 for e in encoded)]
        haystack = _SEP.encode().join(encoded)
        for kind, (words, cased, before, after) in _TRIGGERS.items():
            for needle in (cased if as_written else words):
                needle = needle.encode()
                at = haystack.find(needle)
                while at >= 0:
                    index = bisect.bisect_right(starts, at) - 1
                    local = len(encoded[index][: at - starts[index]].decode())  # in characters
                    hits.setdefault(index, []).append((max(0, local - before), kind, local + after))
                    at = haystack.find(needle, at + 1)
    spans = {}
    for index, found in hits.items():
        merged = []
        for begin, kind, end in sorted(found):
            same = [i for i, span in enumerate(merged) if span[1] == kind and begin <= span[3]]
            if same:
                first = merged[same[-1]]
                merged[same[-1]] = (first[0], kind, first[2], max(first[3], end))
            else:
                merged.append((begin, kind, begin, end))
        spans[index] = merged
    return spans


def sentence_bounds(text: str, start: int, end: int, extra_sentences: int = 0) -> tuple[int, int]:
    """The span of the sentence(s) holding text[start:end], plus `extra_sentences` after it."""
    begin = max(text.rfind(mark, 0, start) for mark in (". ", "! ", "? ", "\n", "… "))
    begin = 0 if begin < 0 else begin + 1
    while begin < start and text[begin].isspace():
        begin += 1
    stop = end
    for _ in range(extra_sentences + 1):
        found = _SENTENCE_END.search(text, stop)
        if not found:
            return begin, len(text.rstrip())
        stop = found.end()
    return begin, stop


def quote(evidence: str) -> str:
    """One line, at most _QUOTE_CHARS characters, for a detail."""
    line = " ".join(evidence.split())
    return line if len(line) <= _QUOTE_CHARS else line[: _QUOTE_CHARS - 3] + "..."


class BoilerplateFilter(Detector):
    """Flags the first assistant reply of a conversation that carries LLM boilerplate (see the module docstring).
    Each reply is judged on its own, so every chunk is judged as it comes."""

    reason = "boilerplate"

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.seen, self.found = 0, {}

    def observe(self, conversations: list[list[dict]]) -> None:
        owners, replies = [], []
        for c, messages in enumerate(conversations):
            for m, message in enumerate(messages):
                if message.get("role") == "assistant" and isinstance(message.get("content"), str):
                    owners.append((c, m))
                    replies.append(message["content"].replace(_SEP, " "))
        for index, spans in sorted(candidates(replies).items()):
            conversation, message = owners[index]
            if self.seen + conversation in self.found:
                continue
            matches = ((kind, m) for _, kind, begin, end in spans for m in _PATTERNS[kind].finditer(replies[index], begin, end))
            for kind, match in matches:
                found = self.evidence(replies[index], kind, match.start(), match.end())
                if found:
                    begin, end = found
                    evidence = conversations[conversation][message]["content"][begin:end]
                    self.found[self.seen + conversation] = Finding(
                        self.reason, f'{_LABELS[kind]}: "{quote(evidence)}"', f"messages[{message}].content", evidence,
                        begin, end)
                    break
        self.seen += len(conversations)

    def finish(self, read) -> dict:
        return self.found

    @staticmethod
    def evidence(text: str, kind: str, start: int, end: int) -> tuple[int, int] | None:
        """The sentence(s) to cite, or None when a self-reference comes with no limitation or apology."""
        if kind != "self":
            return sentence_bounds(text, start, end)
        begin, stop = sentence_bounds(text, start, end, extra_sentences=1)
        window = text[begin: min(stop, end + _WINDOW)]
        limitation = _LIMITATION.search(window)
        if not limitation:
            return None
        return sentence_bounds(text, start, max(end, begin + limitation.end()))
