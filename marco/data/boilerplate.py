"""LLM boilerplate in assistant replies: AI disclaimers, refusals, knowledge-cut-off notes (reason `boilerplate`).

Matches the construction, not fixed sentences, so wordings in no list are found too (EN/IT/ES/FR/DE):
- self-reference + limitation: the speaker calls itself an AI / model / assistant / program / software, in any word
  order ("As an AI language model", "Being a language model, ...", "A language model is all I am", "Ein
  Sprachmodell bin ich", "I, a text-only assistant,", "a chatbot like me", "IA al fin y al cabo,", "Not having a
  nose"), with a limitation, an apology or any
  negation in its sentence, the one before or the one after, and the speaker in the first person;
- third person: "This assistant cannot", "the AI you are chatting with doesn't", a service bot introduced by name
  ("Lucia, l'assistente digitale del Comune, non può"), a product name with a modal limitation ("Gemini non
  esprime"), a machine as the sentence's subject ("Il bot di assistenza non è in grado"), "this model/tool" as the
  agent ("not available to this model"); "this model" only when it lacks what a machine lacks (real-time data, files);
- design and scope: "I wasn't designed to", "only configured to", "non è previsto che io", "es ist nicht vorgesehen";
- knowledge cut-off: "as of my last update", or a dated sentence in which the speaker does not know or its knowledge
  stops ("my information only goes up to early 2023", "Was nach September 2021 passiert ist, weiß ich nicht");
- refusal: an apology + a first-person "cannot" + a task, a refusal in so many words ("I must decline"), a canned
  non-answer ("I'm not sure I can help you"), an announced persona ("As a helpful and respectful assistant, I") or a
  parroted list of harms ("harmful, unethical, racist, sexist");
- capability disclaimer: a first-person "I do not have" + what only an AI lacks (senses, a body, feelings, memory of
  earlier conversations, real-time access), per language and in either word order.
Not the speaker's: quoted material, dialogue scripts and lines opened by a dash, third-person narration, a person's
plans ("Sorry, I can't on Friday", "non potrò esserci"); a non-answer followed by the attempt is none. "AI"/"IA"/"KI" match in capitals only ("ai clienti" is Italian for "to the customers"), and a role after
the noun ("As an AI therapist", "come assistente di volo") is no self-reference. Only assistant turns are checked.
Speed: a batch's tokens are classified once; they tell which kinds' trigger words to look for in a reply (most
replies: none), and each kind's regex runs only in a window around its words. Measured on wordings written by four
separate writers and on hand-labelled public data: benchmarks/real_data.py.
"""

import bisect
import itertools
import re

from .findings import Detector, Finding

_SEP = "\x00"  # joins the tokens of a batch so each gate word is found in one str.find pass
_WINDOW = 300  # characters after a self-reference in which its limitation must appear
_QUOTE_CHARS = 160  # longest evidence quoted in a detail line

_AI = r"(?-i:AI|A\.I\.|IA|KI|LLM|GPT)"  # capitals only
_ROLE_AFTER = (r"(?!\s+(?:therapist|researcher|engineer|expert|scientist|developer|ethicist|tutor|teacher|coach|"
               r"character|persona|specialist|enthusiast|company|startup|lab|course|class|project|policy|art|"
               r"di\s+volo|clinic|medic|ricercat|espert|sviluppat|ingegner|docente|insegnant|personaggio|"
               r"investigador|experto|chercheur|expert|Forscher|Experte|Entwickler|manager|director|officer|coordinator|professor|"
               r"analyst|programmer|programmatore|programador|programmeur|Programmierer|fan|user|nerd|skeptic|critic|lover|"
               r"ethics|safety|member|participant|partecipant|miembro|membre|Mitglied|Teilnehmer)\w*)")
# the noun the speaker calls itself, with the modifiers LLMs put around it
_SELF_NOUN = (
    rf"(?:(?:large|big|text-based|text-only|digital|virtual|conversational|generative|computer|pre-?trained|{_AI})[\s-]+)*"
    rf"(?:{_AI}(?:[\s-]+(?:language\s+)?(?:model|system|assistant|chatbot|program))?|language\s+model|"
    r"chatbot|chat\s*bot|bot|assistant|computer\s+program|program|machine|artificial\s+intelligence|software|"
    r"algorithm|neural\s+network|text\s+generator|logiciel|algorithme|algoritmo|macchina|máquina|Maschine|Algorithmus|"
    r"automated\s+system|sistema\s+(?:automatico|automático|di\s+IA|de\s+IA|di\s+intelligenza\s+artificiale|"
    r"de\s+inteligencia\s+artificial)|"
    r"système\s+(?:automatique|d['’]IA)|(?:automatisches|KI-)System|"
    rf"modell[oi]\s+(?:di\s+)?(?:linguaggio|lingua|linguistico)(?:\s+{_AI})?(?:\s+di\s+grandi\s+dimensioni)?|"
    rf"modell[oi](?:\s+{_AI})|modell[oi]\s+di\s+(?:{_AI}|intelligenza\s+artificiale)|"
    rf"modelo\s+de\s+(?:{_AI}|inteligencia\s+artificial)|modèle\s+d['’](?:{_AI}|intelligence\s+artificielle)|assistente(?:\s+(?:virtuale|digitale|{_AI}))?|intelligenza\s+artificiale|"
    rf"programma(?:\s+(?:informatico|per\s+computer))?|"
    rf"modelo\s+de\s+(?:lenguaje|idioma)(?:\s+{_AI})?|asistente(?:\s+(?:virtual|digital|{_AI}))?|"
    r"inteligencia\s+artificial|programa(?:\s+informático)?|"
    rf"modèle\s+de\s+(?:langage|langue)(?:\s+{_AI})?|assistant(?:e)?\s+(?:virtuel(?:le)?|numérique)|"
    r"intelligence\s+artificielle|programme(?:\s+informatique)?|"
    rf"(?:{_AI}-)?Sprachmodells?|{_AI}-(?:Modell|Assistent(?:in|en)?|System)|[\w-]*[Aa]ssistent(?:in|en)?|künstliche[nr]?\s+Intelligenz|"
    r"Computerprogramm|Programm|"
    # a bare "model" right after "a": "al ser un modelo sin conexión", not "salvando-as no modelo"
    r"(?:(?<=\ba\s)|(?<=\bun\s)|(?<=\bein\s))(?:model|modello|modelo|modèle|Modell)"
    r"(?!\s+(?:of|di|de|du|des|von|für|for|per|para|pour|student|citizen)\b))"
) + _ROLE_AFTER + r"(?![\w-])"
_ART = r"(?:an?|the|one|un[ao]?|un'|un’|una|une|ein(?:e|en|em|er)?|el|la|le|il|l['’]|der|die|das|dem|den)\s*"
# words that may stand between the copula and the noun: "I am, after all, a machine", "sono pur sempre un programma"
_FILL = (r"(?:[\s,]*(?:just|only|merely|simply|but|nothing\s+more\s+than|no\s+more\s+than|after\s+all|ultimately|"
         r"basically|essentially|still|in\s+the\s+end|solo|soltanto|semplicemente|solamente|pur\s+sempre|dopotutto|"
         r"in\s+fondo|sólo|al\s+fin\s+y\s+al\s+cabo|después\s+de\s+todo|seulement|juste|simplement|après\s+tout|"
         r"au\s+fond|nur|lediglich|bloß|eben|schließlich|letztlich|apenas|meramente|nada\s+más\s+que|io|"
         r"(?:una\s+persona|un\s+essere\s+umano|a\s+(?:person|human)|une\s+personne|ein\s+Mensch)\s+(?:ma|but|sino|mais|sondern))\b)*[\s,]*")
# what makes a fronted noun the speaker's: "..., after all,", "that I am", "che sono"
_APPOSED = (r"(?:after\s+all|in\s+the\s+end|ultimately|dopotutto|in\s+fondo|alla\s+fine|al\s+fin\s+y\s+al\s+cabo|"
            r"después\s+de\s+todo|en\s+el\s+fondo|après\s+tout|au\s+fond|finalement|schließlich|letztlich|am\s+Ende|"
            r"that\s+i\s+am|(?:che|quale)\s+sono|que\s+soy|que\s+je\s+suis|(?:der|die|das)\s+ich\s+bin)")
# a body the speaker lacks, as its self-reference: "Not having a nose or any senses, I can't", "Non avendo un corpo né papille"
_BODILESS = (
    r"\b(?:not\s+having|having\s+no|non\s+avendo|no\s+teniendo|al\s+no\s+tener|n['’]ayant|ohne)\s+(?:an?\s+|any\s+|un\s+|"
    r"una\s+|ni\s+|né\s+)?(?:body|nose|eyes|ears|tongue|senses|taste\s*buds|corpo|papille|occhi|orecchie|cuerpo|papilas|ojos|"
    r"oídos|corps|papilles|yeux|Körper|Geschmackssinn|Augen|Sinne)\b")
_SELF = (
    r"\b(?:as|being|i\s+am|i'm|i’m|me\s+being|(?:since|because|given\s+that|as|now\s+that)\s+i(?:'m|’m|\s+am|m))"
    rf"{_FILL}(?:{_ART})?(?:[\w-]+\s+)?{_SELF_NOUN}"
    r"|\b(?:come|in\s+quanto|essendo(?:\s+io)?|sono|io\s+sono|di\s+essere|in\s+qualità\s+di|"
    r"(?:non\s+)?(?:sono|essendo)\s+(?:altro|nient['’]altro)\s+che|"
    r"(?:poiché|dato\s+che|visto\s+che|perché|siccome|giacché)\s+(?:io\s+)?sono)"
    rf"{_FILL}(?:{_ART})?{_SELF_NOUN}"
    r"|\b(?:como|siendo|soy|yo\s+soy|ser|al\s+ser|(?:ya|dado|puesto)\s+que\s+soy|porque\s+soy|no\s+soy\s+más\s+que|"
    rf"en\s+mi\s+calidad\s+de){_FILL}(?:{_ART})?{_SELF_NOUN}"
    r"|\b(?:en\s+tant\s+qu(?:e\s+|'|’)|comme\s+|étant\s+|je\s+suis\s+|(?:puisque|parce\s+que|car|vu\s+que)\s+je\s+suis\s+|"
    rf"(?:je|qui)\s+ne\s+suis\s+qu(?:e\s+|'|’)|n['’]étant\s+qu(?:e\s+|'|’)){_FILL}(?:{_ART})?(?:[\w-]+\s+)?{_SELF_NOUN}"
    rf"|\b(?:als\s+(?:[\w-]+\s+){{0,2}}?|ich\s+bin\s+|bin\s+ich\s+|bin\s+(?:ja\s+|doch\s+|halt\s+|eben\s+)*(?=ne\s|n\s|eine?\s))"
    rf"{_FILL}(?:{_ART}|ne\s+|n\s+)?(?:[\w-]+\s+)?{_SELF_NOUN}"
    rf"|\b(?:da|weil|wenn|obwohl)\s+ich{_FILL}(?:{_ART})?(?:[\w-]+\s+)?{_SELF_NOUN}"
    rf"|\b{_SELF_NOUN}\w*\s+(?:like\s+(?:me|myself)|come\s+me|como\s+yo|comme\s+moi|wie\s+(?:ich|mich|mir))\b"
    rf"|\b(?:i|io|yo|moi|ich)\s*,\s*(?:{_ART})?(?:[\w-]+\s+)?{_SELF_NOUN}"  # "I, a text-only assistant,"
    rf"|\b{_SELF_NOUN}\s+(?:quale|che|que|qui|der|die)\s+(?:sono|soy|je\s+suis|suis|ich\s+bin|bin)\b"
    # "A language model is all I am", "Ein Sprachmodell bin ich", "Intelligenza artificiale ... è ciò che sono"
    rf"|\b{_SELF_NOUN}(?:[\s,]+[\w'’]+){{0,4}}?[\s,]+(?:is\s+(?:all|what)\s+i\s+am|(?:è\s+)?(?:ciò|quello)\s+che\s+sono|"
    r"es\s+lo\s+que\s+soy|c['’]est\s+ce\s+que\s+je\s+suis|bin\s+ich)\b"
    rf"|\b(?:resto|rimango|sigo\s+siendo|je\s+reste|bleibe\s+ich|i\s+remain){_FILL}(?:{_ART})?(?:[\w-]+\s+)?{_SELF_NOUN}"
    # the noun fronted as an apposition: "IA al fin y al cabo, no me es posible", "Mere software, I cannot taste"
    rf"|(?:^|(?<=[.!?:;]\s)|(?<=\n))(?:(?:just|only|merely|mere|a\s+mere|simple|semplice|mero|mera|simple|bloß|nur)\s+"
    rf"(?:{_ART})?(?:[\w-]+\s+)?{_SELF_NOUN}\s*,|(?:{_ART})?(?:[\w-]+\s+)?{_SELF_NOUN}\s*,?\s+{_APPOSED}\s*,)"
)
# a noun that can only be a machine: "automated assistant", "assistente virtuale", "un'IA", "KI-gestützten Lernassistenten"
_MACHINE = (rf"(?:{_AI}(?:\s+(?:model|modello|modelo|modèle|Modell|assistant|assistente|asistente))?|chatbot|(?![Rr]obot)\w*[Bb]ot|"
            r"(?:virtual|digital|automated|automatic)\s+assistant|assistente\s+(?:virtuale|digitale|automatico)|"
            r"asistente\s+(?:virtual|digital|automático)|assistante?\s+(?:virtuel(?:le)?|numérique)|"
            r"(?:virtuelle[rn]?|digitale[rn]?|KI-gestützte[nr]?)\s+\w*[Aa]ssistent\w*|programa\s+automático|"
            r"programma\s+automatico|programme\s+automatique|sistema\s+automatic[oa]|système\s+automatisé|"
            r"automated\s+system|language\s+model|"
            # an AI maker's assistant: "l'assistant de Mistral AI", "the model from OpenAI"
            r"(?:assistant|assistente|asistente|Assistent|model|modello|modelo|modèle|Modell|chatbot)\s+(?:of|from|by|de|di|da|"
            r"del|von|d['’])\s*(?:[\w-]+\s+){0,2}?(?-i:AI|IA|KI|OpenAI|Google|Microsoft|Meta|Anthropic|Mistral|Amazon|Apple))(?![\w-])")
# the speaker named in the third person: "this assistant", "the AI you are chatting with", "ChatGPT"
_THIRD = (
    rf"\b(?:this|questo|questa|quest['’]|este|esta|cet|cette|ce|dieser|diese|dieses)\s*(?:{_AI}|assistant|assistente|"
    r"asistente|Assistent|chatbot|bot|language\s+model|modello\s+linguistico|modelo\s+de\s+lenguaje|"
    r"modèle\s+de\s+langage|Sprachmodell)(?![\w-])"
    rf"|\b(?:the|l['’]|el|der|die)\s*(?:{_AI}|assistant|assistente|asistente|Assistent|chatbot|(?:language\s+)?model)\s+"
    r"(?:(?:that\s+)?you(?:'re|’re|\s+are)\s+(?:talking|speaking|chatting)\s+(?:to|with)|con\s+cui\s+(?:stai\s+)?"
    r"(?:parl\w+|chatt\w+)|con\s+el\s+que\s+(?:est[aá]s\s+)?habl\w+|avec\s+qui\s+tu\s+(?:parles|discutes)|"
    r"mit\s+de[rm]\s+du\s+(?:sprichst|chattest))"
    rf"|\b(?:the|l['’]|la|el|die|der)\s*{_AI}\s*,?\s+(?:that|which|che|que|qui|die)\s+(?:you|ti|te|vous|tu|dir|dich)\b"
    # a service bot introduced by name or to the reader: "Lucia, l'assistente digitale del Comune, non può",
    # "HelpDeskBot is an automated assistant and cannot", "estás hablando con TutorBot, un programa automático"
    rf"|(?-i:\b[A-Z][\w-]+),\s+(?!(?:and|or|e|o|y|et|und|oder)\s)(?:{_ART})?(?:[\w-]+\s+)?{_MACHINE}"  # not a list
    rf"|(?-i:\b[A-Z][\w-]+)\s+(?:is|è|es|est|ist)\s+(?:{_ART})(?:[\w-]+\s+)?{_MACHINE}(?!\s+(?:research|company|lab|firm|startup))"
    r"|\b(?:you(?:['’]re|\s+are)\s+(?:talking|chatting|speaking|writing)\s+(?:to|with)|stai\s+(?:parlando|chattando|scrivendo)\s+"
    r"con|ti\s+risponde|estás\s+hablando\s+con|te\s+responde|vous\s+(?:échangez|parlez|discutez)\s+avec|tu\s+(?:parles|"
    rf"discutes)\s+avec|du\s+(?:schreibst|sprichst|chattest)\s+mit|Sie\s+(?:schreiben|sprechen|chatten)\s+mit)\s+(?:[\w'’-]+\s+){{0,3}}?{_MACHINE}"
    rf"|\b(?:this|questo|questa|este|esta|cet|cette|ce|dieser|diese|dieses)\s+(?:[\w-]+\s+)?(?:{_MACHINE}|tutor|servizio|chat)\b"
    rf"|(?P<subject>(?:^|(?<=[.!?]\s)|(?<=\n))(?:the|our|il|lo|la|el|le|der|die|das|unser\w*|nostro|nuestro|notre)\s+"
    rf"(?:[\w-]+\s+){{0,2}}?(?:{_MACHINE}|{_AI}[\s-]+system|{_AI}-System|sistema\s+(?:di|de)\s+(?:{_AI}|intelligenza\s+artificiale|"
    r"inteligencia\s+artificial)|système\s+d['’](?:IA|intelligence\s+artificielle)|robot\s+conversationnel))"
    # this model or tool as the agent of what cannot be done: "not available to this model", "per questo strumento"
    r"|(?P<tool>\b(?:to|for|by|from|per|por|para|desde|par|pour|von|durch)\s+(?:this|questo|este|esta|ce|cet|cette|dieses|diesem)\s+(?:tool|strumento|"
    r"herramienta|outil|Tool|model|modello|modelo|modèle|Modell)\b)"
    r"|(?P<name>\b(?-i:ChatGPT|GPT-?\d(?:\.\d)?|Claude|Bard|Gemini|Copilot|Le\s+Chat|Mistral|Llama|LLaMA|Grok|DeepSeek|"
    r"Qwen|Bing\s+Chat|Perplexity)\b)"
    r"|(?P<model>\b(?:this|the|il|questo|este|el|ce|le|dieses|das)\s+(?:model|modello|modelo|modèle|Modell)\b)"
)
_PASSIVE = (
    r"\bi(?:\s+was\s+(?:not|never)|\s+wasn['’]t|\s+am\s+not|['’]m\s+not|\s+have\s+not\s+been|\s+haven['’]t\s+been)\s+"
    r"(?:designed|programmed|built|created|engineered|configured|made|meant|intended)\s+(?:to|for)\b"
    r"|\bnon\s+(?:sono\s+stat[oa]|vengo|sono)\s+(?:progettat[oa]|programmat[oa]|creat[oa]|costruit[oa]|pensat[oa]|"
    r"addestrat[oa])\s+per|\bnon\s+mi\s+(?:è|e['’])\s+stat[oa]\s+(?:dat[oa]|concess[oa]|fornit[oa])\s+(?:l['’])?accesso"
    r"|\bno\s+(?:fui|he\s+sido|estoy|soy)\s+(?:diseñad[oa]|programad[oa]|cread[oa]|construid[oa]|entrenad[oa])\s+para"
    r"|\bje\s+n['’](?:ai\s+pas\s+été|étais\s+pas)\s+(?:conçue?|programmée?|créée?|entraînée?)\s+pour"
    r"|\bje\s+ne\s+suis\s+pas\s+(?:conçue?|programmée?)\s+pour"
    r"|\bich\s+(?:wurde|bin)\s+nicht\s+(?:dafür\s+|dazu\s+)?(?:entwickelt|programmiert|gebaut|trainiert|konzipiert|gemacht)"
    # trained or built to avoid or refuse: "I've been trained by my developers to avoid", "se me ha entrenado para no"
    r"|\bi(?:['’]ve|\s+have|\s+was|\s+am|['’]m)\s+(?:been\s+)?(?:trained|designed|programmed|built|instructed|configured)\s+"
    r"(?:\w+\s+){0,4}?(?:to\s+(?:avoid|refuse|decline)|not\s+to)\b"
    r"|\bsono\s+stat[oa]\s+(?:addestrat|programmat|progettat|istruit|configurat)[oa]\s+(?:\w+\s+){0,3}?(?:a|per)\s+"
    r"(?:non|evitare|rifiutare)"
    r"|\b(?:se\s+me\s+ha|me\s+han|fui)\s+(?:entrenad[oa]|programad[oa]|diseñad[oa]|instruid[oa]|configurad[oa])\s+"
    r"(?:\w+\s+){0,3}?para\s+(?:no|evitar|rechazar)|\bno\s+se\s+me\s+ha\s+(?:dado|concedido|proporcionado)"
    r"|\bj['’]ai\s+été\s+(?:entraînée?|programmée?|conçue?|configurée?)\s+(?:\w+\s+){0,3}?(?:à|pour)\s+(?:refuser|ne|éviter)"
    r"|\bich\s+(?:bin|wurde)\s+(?:darauf\s+|dazu\s+|dafür\s+)?(?:trainiert|programmiert|entwickelt|konfiguriert)"
    r"(?:\s+worden)?,?\s+(?:\w+\s+){0,3}?(?:keine|nicht|zu\s+vermeiden|abzulehnen)"
    r"|\bmir\s+wurde\s+(?:\w+\s+){0,4}?kein\w*\s+\w+\s+(?:gegeben|gewährt)|\bno\s+se\s+me\s+permite"
    # what the speaker is not for: "non è previsto che io", "no está en mis funciones", "es ist nicht vorgesehen, dass"
    r"|\b(?:non\s+è\s+previsto\s+che\s+io|non\s+rientra\s+(?:nelle|tra\s+le)\s+mie\s+(?:funzioni|competenze)|"
    r"no\s+(?:está|entra)\s+en(?:tre)?\s+mis\s+funciones|no\s+forma\s+parte\s+de\s+mis\s+funciones|"
    r"il\s+n['’]est\s+pas\s+prévu\s+que\s+je|ne\s+fait\s+pas\s+partie\s+de\s+mes\s+(?:fonctions|missions)|"
    r"il\s+ne\s+m['’]appartient\s+pas|es\s+ist\s+nicht\s+vorgesehen,?\s+dass|gehört\s+nicht\s+zu\s+meinen\s+"
    r"(?:Aufgaben|Funktionen)|(?:isn['’]t|is\s+not)\s+(?:something|what)\s+i\s+(?:was|am|['’]m|have\s+been)\s+"
    r"(?:built|designed|made|programmed|configured|set\s+up)|not\s+(?:part\s+of|within)\s+my\s+(?:functions|scope|role))"
    r"|(?P<scoped>\b(?:not|n['’]t|never|non|no|ne|nicht|only|solo|solamente|uniquement|seulement|nur)\s+(?:\w+\s+){0,2}?"
    r"(?:been\s+)?(?:built|designed|configured|programmed|set\s+up|developed|programmat\w|progettat\w|configurat\w|"
    r"programad\w|diseñad\w|configurad\w|programmée?|conçue?|configurée?|entwickelt|programmiert|ausgelegt|konzipiert)"
    r"(?:\s+(?:to|for|per|para|pour|à|a)\b|,))"
    # made to avoid or refuse, whoever the subject (evidence() wants the speaker or "this model" in the sentence)
    r"|(?P<designed>\b(?:built|trained|designed|programmed|instructed|configured|addestrat\w|programmat\w|progettat\w|"
    r"pensat\w|entrenad\w|programad\w|diseñad\w|entraîné\w*|programmé\w*|conçu\w*|trainiert|programmiert|entwickelt|"
    r"ausgelegt|konzipiert)[\s,]+(?:\w+\s+){0,3}?(?:to\s+(?:avoid|refuse|decline|stay\s+neutral|not)|not\s+to|"
    r"a\s+(?:evitare|non|rifiutare|restare\s+neutral\w)|per\s+(?:evitare|non)|para\s+(?:evitar|no|rechazar)|"
    r"à\s+(?:éviter|refuser|ne|rester\s+neutre)|pour\s+(?:éviter|ne)|"
    r"(?:[\w-]+\s+){0,3}?zu\s+(?:vermeiden|bleiben|verweigern|ablehnen)|dass\s+ich\s+(?:\w+\s+){0,3}?(?:keine?|nicht)))"
)
# a time boundary ("after late 2022", "dopo settembre 2021", "bis 2023") ...
_BOUNDARY = re.compile(
    r"\b(?:after|beyond|past|since|until|up\s+to|through|dopo|oltre|successiv\w+\s+a\w*|fino\s+a\w*|después\s+de|a\s+partir\s+de|"
    r"posterior\w*\s+a|hasta|après|au-delà\s+d[eu]|depuis|jusqu['’]à|nach|seit|ab|bis)\s+(?:[\w'’]+[\s-]+){0,3}?(?:19|20)\d\d\b",
    re.IGNORECASE)
# ... with the speaker not knowing what lies past it, or what it knows stopping there: a cut-off hedge in any words
_UNKNOWING = (
    r"\bi\s+(?:do\s+not|don['’]t)\s+(?:know|have\s+(?:any\s+)?(?:information|data|knowledge))|\bi(?:['’]m|\s+am)\s+not\s+"
    r"(?:aware|up\s+to\s+date|updated)|\bi\s+have\s+no\s+(?:information|knowledge|data)|\ba\s+blank\s+for\s+me|"
    r"\bi\s+can['’]t\s+(?:tell|know|say)|\bnon\s+(?:so|conosco|saprei|sono\s+(?:aggiornat\w|al\s+corrente))\b|"
    r"\bnon\s+ho\s+(?:informazioni|notizie|dati)|\bno\s+(?:sé|conozco|sabría|estoy\s+al\s+(?:día|tanto))\b|"
    r"\bno\s+tengo\s+(?:información|datos)|\bje\s+ne\s+(?:sais|connais|saurais)\b|"
    r"\bje\s+n['’]ai\s+pas\s+(?:d['’]informations?|de\s+données|de\s+nouvelles)|"
    r"\bje\s+ne\s+suis\s+pas\s+au\s+courant|\bweiß\s+ich\s+nicht|\bich\s+weiß\s+(?:es\s+)?nicht|\bkenne\s+ich\s+nicht|"
    r"\bich\s+habe\s+keine\s+(?:Informationen|Kenntnis)|\bbin\s+ich\s+nicht\s+informiert"
    # what the speaker knows, owned ("the information I have", "mis conocimientos", "ma connaissance du monde")
    r"|\b(?:my|mis?|mes|ma|mon|mein\w*|i\s+miei|le\s+mie|la\s+mia|il\s+mio)\s+(?:\w+\s+){0,2}?(?:knowledge|information|"
    r"data|conoscenz\w+|informazion\w+|dati|conocimientos?|información|datos|connaissances?|informations|données|Wissen|"
    r"Informationen|Daten)\b"
    # a knowledge word ("the information I was trained on", "i dati su cui sono stato addestrato", "what I know")
    r"|\b(?:information|data|knowledge|informazioni|dati|conoscenze|datos|información|conocimientos|données|informations|"
    r"connaissances|Informationen|Daten|Wissen)\b|\b(?:what\s+i\s+know|ciò\s+che\s+so|quello\s+che\s+so|lo\s+que\s+sé|"
    r"ce\s+que\s+je\s+sais|was\s+ich\s+weiß|as\s+far\s+as\s+i\s+know|per\s+quanto\s+ne\s+so|da\s+quel\s+che\s+so|"
    r"hasta\s+donde\s+(?:yo\s+)?sé|que\s+je\s+sache|soweit\s+ich\s+weiß)\b"
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
    r"|\b(?:mein|meine|meinem|meines|meiner|meinen)\s+(?:Wissensstand|Trainingsdaten|Training|letzte[nm]?\s+(?:Aktualisierung|Updates?)|"
    r"Wissen\s+reicht)"
)
_SORRY = (r"(?:lo\s+lamento|lamento|i'm\s+sorry|i\s+am\s+sorry|sorry|i\s+apologi[sz]e|apologies|my\s+apologies|unfortunately|mi\s+dispiace|mi\s+scuso|purtroppo|"
          r"scusa(?:mi)?|perdona(?:mi)?|perdón|pardon|je\s+suis\s+(?:navrée?|désolée?)|navrée?|mi\s+spiace|je\s+regrette|"
          r"spiacente|lo\s+siento|lamentablemente|disculp[ae]|désolée?|malheureusement|je\s+m'excuse|"
          r"es\s+tut\s+mir\s+leid|tut\s+mir\s+leid|leider|entschuldig\w*)")
_TASK = (r"(?:help|assist|provide|create|generate|fulfil+|comply|answer|support|access|browse|draw|display|view|"
         r"search|look\s+up|give|tell|send|book|call|open|read|reveal|disclose|share|do|"
         r"\w{3,}(?:are|ere|ire|ar|er|ir|re)(?:ti|vi|mi|lo|la|le|te|se|nos|les)?(?=\s|[.,;:!?]|$)|"
         r"cercar|trovar|dar|dir|inviar|prenotar|chiamar|aprir|legger|facilitar|buscar|encontrar|decir|enviar|reservar|"
         r"llamar|abrir|leer|chercher|trouver|donner|dire|envoyer|réserver|appeler|ouvrir|lire|suchen|finden|geben|"
         r"sagen|senden|buchen|anrufen|öffnen|lesen|herausgeben|formulieren|weitergeben|"
         r"perform|write|engage|complete|produce|share|offer|retrieve|make|determine|predict|do\s+th(?:at|is)|"
         r"aiutar|assister|fornir|crear|generar|rispondere|accedere|visualizzar|vedere|disegnar|mostrar|eseguir|"
         r"soddisfar|scriver|produrr|elaborar|condivider|recuperar|navigar|offrir|determinar|prevedere|prever|"
         r"ayudar|proporcionar|generar|responder|acceder|ver|dibujar|mostrar|realizar|escribir|ofrecer|"
         r"aider|fournir|créer|générer|répondre|accéder|voir|dessiner|afficher|écrire|"
         r"helfen|bereitstellen|erstellen|generieren|antworten|zugreifen|sehen|zeichnen|anzeigen|schreiben)")
_CANNOT = (r"(?:that['’]s\s+(?:something|not\s+something)\s+i\s+(?:won['’]t|will\s+not|can['’]t|cannot)|"
           r"i(?:['’]m|\s+am)\s+not\s+going\s+to|non\s+(?:\w+\s+)?\w+rò|no\s+voy\s+a|je\s+ne\s+vais\s+pas|"
           r"je\s+ne\s+suis\s+pas\s+en\s+mesure\s+d[e'’]|no\s+estoy\s+en\s+condiciones\s+de|ich\s+werde\s+(?:\w+\s+){0,3}?nicht|"
           r"(?:il\s+)?m['’]est\s+impossible\s+d[e'’]|mi\s+è\s+impossibile|me\s+es\s+imposible|"
           r"i['’]m\s+(?:not\s+able|unable)\s+to|i\s+(?:can't|can’t|cannot|can\s+not|am\s+(?:not\s+able|unable)\s+to|won't|"
           r"will\s+not|must\s+decline\s+to|"
           r"do\s+not\s+have\s+the\s+ability\s+to)"
           r"|(?:io\s+)?non\s+(?:posso|sono\s+in\s+grado\s+di|riesco\s+a|ho\s+la\s+(?:capacità|possibilità)\s+di)"
           r"|(?:yo\s+)?no\s+(?:puedo|soy\s+capaz\s+de|tengo\s+la\s+capacidad\s+de)"
           r"|je\s+ne\s+(?:peux|suis\s+pas\s+en\s+mesure\s+d[e'])\s*(?:pas\s+)?"
           r"|ich\s+(?:kann|darf)\s+(?:\w+\s+){0,4}?(?:nicht|keine?n?)|(?:kann|darf|werde)\s+ich\s+(?:\w+\s+){0,3}?nicht)")
_REFUSAL = (rf"\b{_SORRY}[,.!]?\s+(?:(?:but|ma|pero|pero|mais|aber)\s+)?(?:{_CANNOT}\s*(?:\w+\s+|\w+['’]){{0,3}}?{_TASK}(?!\s+it\s+(?:on|to|at|by|tonight|today|tomorrow))"
            rf"|(?:\w+\s+){{0,5}}?{_TASK}\w*\s+(?:ich\s+nicht|ne\s+m['’]est\s+pas\s+(?:permis|possible))|"
            rf"(?:\w+\s+){{1,4}}?(?:kann|darf|werde|\w+e)\s+ich\s+(?:\w+\s+){{0,3}}?nicht"
            # a refusal in the future tense: "Scusami, ma non scriverò", "Désolée, je ne rédigerai pas", "I won't write"
            r"|non\s+\w+rò|je\s+ne\s+\w+rai\s+pas|i\s+(?:won['’]t|will\s+not)\s+\w+)"
            r"|\b(?:kann|darf|werde)\s+ich\s+(?:\w+\s+){0,3}?leider\s+(?:\w+\s+){0,2}?(?:nicht|keine?n?)\b")
# an assistant persona announced ("As a helpful and respectful assistant, I ...", "As an AI language model, I would
# suggest"), or a system prompt's list of harms parroted ("harmful, unethical, racist, sexist, toxic"): boilerplate in
# itself, a formula a tutor must not learn
_VIRTUE = (r"(?:helpful|respectful|responsible|ethical|honest|safe|harmless|friendly|caring|trustworthy|reliable|"
           r"knowledgeable|unbiased|utile|rispettos[oa]|responsabile|onest[oa]|útil|respetuos[oa]|responsable|honest[oa]|"
           r"serviable|respectueu(?:x|se)|hilfreicher?|respektvoller?|verantwortungsvoller?)")
_HARM = r"(?:harmful|unethical|racist|sexist|toxic|dangerous|illegal|offensive|dannos[oi]|razzist[ai]|dañin[oa]|racista)"
_PERSONA = (
    rf"\b(?:as|come|como|en\s+tant\s+qu['’e]\s*|comme|als)\s+(?:an?|un[ao']?|una|une|ein(?:e|en)?)?\s*"
    rf"(?:{_VIRTUE}[\s,]+(?:and\s+|e\s+|y\s+|et\s+|und\s+)?)+(?:{_AI}\s+)?(?:assistant|assistente|asistente|"
    r"Assistent(?:in)?|language\s+model|modello|modelo|modèle|Modell|AI|IA|KI)\b"
    # a virtue with more words before the noun: "As a responsible and empathetic assistant", "a responsible AI language model"
    rf"|\b(?:as|come|como|comme|als)\s+(?:an?|un[ao']?|una|une|ein(?:e|en)?)\s+{_VIRTUE}(?:[\s,]+(?:and\s+)?[\w-]+){{0,3}}?\s+"
    rf"(?:{_AI}\s+)?(?:assistant|assistente|asistente|Assistent(?:in)?|language\s+model)\b"
    rf"|\ban?\s+(?:responsible|helpful|ethical)\s+{_AI}\s+(?:language\s+model|assistant)\b"
    rf"|\bas\s+an\s+{_AI}(?:\s+language\s+model)?\s*,\s*i\b|\bas\s+an?\s+(?:{_AI}\s+)?assistant\s*,\s*i\b"
    rf"|\b{_HARM}(?:,\s*(?:or\s+|o\s+)?{_HARM}){{2,}}"
)
# a refusal in so many words, with no apology: "I must decline this request", "non è qualcosa con cui posso aiutarti"
_DECLINE = (
    rf"\b(?:i(?:['’]m|\s+am)\s+afraid\s+(?:that\s+)?i\s+(?:can(?:not|['’]t)|won['’]t|am\s+(?:not\s+able|unable)\s+to)\s+"
    rf"(?:\w+\s+){{0,2}}?{_TASK}|i\s+must\s+(?:inform|tell|remind)\s+you\s+that\s+i\s+(?:can(?:not|['’]t)|won['’]t|"
    r"am\s+(?:not\s+able|unable)\s+to)|temo\s+di\s+non\s+(?:poter|essere\s+in\s+grado)|me\s+temo\s+que\s+no\s+(?:puedo|podré)|"
    r"je\s+crains\s+de\s+ne\s+pas\s+pouvoir|ich\s+fürchte,?\s+(?:dass\s+)?ich\s+(?:\w+\s+){0,3}?(?:nicht|keine?n?))"
    r"|\b(?:i\s+(?:must|have\s+to|need\s+to)\s+(?:decline|refuse)|devo\s+(?:declinare|rifiutare)|debo\s+(?:rechazar|declinar)|"
    r"je\s+dois\s+(?:refuser|décliner)|(?:muss|werde)\s+ich\s+(?:leider\s+)?(?:ablehnen|verweigern)|ich\s+muss\s+(?:\w+\s+){0,3}?"
    r"ablehnen|(?:not|isn['’]t)\s+something\s+i\s+can\s+(?:help|assist)|non\s+è\s+qualcosa\s+(?:con\s+cui|in\s+cui)\s+"
    r"(?:io\s+)?(?:posso|possa)|no\s+es\s+algo\s+(?:con|en)\s+lo\s+que\s+(?:pueda|puedo)|pas\s+quelque\s+chose\s+(?:avec|pour)\s+"
    r"(?:lequel|quoi)\s+je\s+(?:peux|puisse)|nichts,?\s+(?:wobei|womit|bei\s+dem)\s+ich\s+(?:dir\s+|ihnen\s+)?helfen)"
)
# a canned non-answer ("I'm not sure I can help you", "non sono sicuro di aver capito") or an ethics refusal ("I'm sorry,
# but it is not ethical to ...")
_NON_ANSWER = (
    r"\bi['’]m\s+not\s+sure\s+(?:i\s+(?:can\s+help|understand)|what\s+you(?:['’]re|\s+are)?\s+(?:mean|asking|trying))|"
    r"\bnon\s+sono\s+sicur[oa]\s+di\s+(?:poter(?:ti|vi)?\s+aiutar\w*|capir\w*|aver\s+capito|cosa\s+intend\w+)|"
    r"\bno\s+estoy\s+segur[oa]\s+de\s+(?:poder\s+ayudar\w*|entender\w*|qué\s+quier\w+\s+decir)|"
    r"\bje\s+ne\s+suis\s+pas\s+sûre?\s+de\s+(?:pouvoir\s+(?:t['’]|vous\s+)?aider|comprendre|ce\s+que\s+(?:tu|vous)\s+voul\w+)|"
    r"\bich\s+bin\s+(?:mir\s+)?nicht\s+sicher,?\s+(?:ob\s+ich\s+(?:dir\s+|ihnen\s+)?helfen\s+kann|was\s+du\s+meinst)|"
    rf"\b{_SORRY}[,.!]?\s+(?:but\s+)?i\s+(?:don['’]t|do\s+not)\s+understand\s+(?:the|your)\s+question|\bnon\s+(?:capisco|ho\s+capito)\s+la\s+(?:tua\s+)?domanda|\bno\s+entiendo\s+(?:la|tu)\s+"
    r"pregunta|\bje\s+ne\s+comprends\s+pas\s+(?:la|ta|votre)\s+question|\bich\s+verstehe\s+(?:die|deine|Ihre)\s+Frage\s+nicht|"
    r"\b(?:it['’]s|it\s+is)\s+not\s+(?:appropriate|ethical)\s+to\b|"
    rf"\b{_SORRY}[,.!]?\s+(?:(?:but|ma|pero|mais|aber)\s+)?(?:it\s+is|it['’]s|it\s+would\s+be|that\s+is|that['’]s|non\s+è|no\s+es|"
    r"(?:il|ce)\s+n['’]est|(?:es|das)\s+ist)\s+(?:not\s+|pas\s+|nicht\s+)?(?:un)?(?:ethical|appropriate|legal|etico|"
    r"appropriato|legale|ético|apropiado|éthique|approprié|ethisch|angemessen)"
)
_LACKED = {  # what only a machine lacks, per language, after "I have no" / "I don't have"
    "en": r"(?:eyes|ears|hands|a\s+(?:mouth|tongue|nose|face|voice|body)|taste\s*buds|senses|a\s+sense\s+of\s+(?:taste|smell|touch)|"
          r"personal\s+(?:experiences?|opinions|feelings|preferences|tastes?)|memories|feelings|emotions|consciousness|"
          r"(?:the\s+)?(?:ability|capacity)\s+to\s+(?:see|hear|taste|smell|touch|feel|remember|browse))",
    "it": r"(?:occhi|orecchie|mani|una\s+bocca|una\s+lingua|un\s+naso|papille|sensi|ricordi|un\s+corpo|sentimenti|emozioni|"
          r"esperienze\s+personali|gusti\s+personali|opinioni\s+personali|una\s+coscienza)",
    "es": r"(?:ojos|oídos|manos|boca|lengua|nariz|papilas|sentidos|recuerdos|(?:un\s+)?cuerpo|sentimientos|emociones|"
          r"experiencias\s+personales|gustos\s+personales|opiniones\s+personales|conciencia)",
    "fr": r"(?:d['’]yeux|d['’]oreilles|de\s+mains|de\s+bouche|de\s+langue|de\s+nez|de\s+papilles|de\s+sens|de\s+souvenirs|"
          r"de\s+corps|de\s+sentiments|d['’]émotions|d['’]expériences?\s+personnelles?|de\s+goûts\s+personnels|de\s+conscience)",
    "de": r"(?:keine\s+(?:Augen|Ohren|Hände|Nase|Zunge|Sinne|Geschmacksknospen|Erinnerungen|Gefühle|Emotionen|persönlichen\s+"
          r"(?:Erfahrungen|Vorlieben))|keinen\s+(?:Körper|Mund|Geschmackssinn)|kein\s+(?:Gedächtnis|Bewusstsein|Gesicht))",
}
_CONVERSATION = (r"(?:conversations?|chats?|sessions?|exchanges?|interactions?|conversazion\w|session\w|conversacion\w*|"
                 r"sesion\w*|échanges?|Gespräch\w*|Sitzung\w*|Unterhaltung\w*)")
_LATER = r"(?:precedent\w*|passat\w*|anterior\w*|précédent\w*|passé\w*|to\s+the\s+next|to\s+another|all['’]altra|a\s+otra|à\s+l['’]autre)"
_CONVERSATIONS = (rf"(?:{_CONVERSATION}\s+(?:\w+\s+)?{_LATER}|(?:from|da|de|d['’]|von)\s+(?:one|una|un|une|einem)\s+{_CONVERSATION}|"
                  r"(?:previous|past|earlier|prior|other|former|old|precedent\w*|passat\w*|anterior\w*|vorherig\w*|frühere\w*)\s+"
                  rf"(?:\w+\s+)?{_CONVERSATION})")
_CAPABILITY = (
    rf"\bi\s+(?:have\s+no|(?:do\s+not|don't|don’t)\s+(?:really\s+|actually\s+)?have\s+(?:any\s+)?){_LACKED['en']}"
    rf"|\bnon\s+(?:ho|possiedo)\s+(?:dei\s+|delle\s+)?{_LACKED['it']}|\bno\s+(?:tengo|poseo)\s+{_LACKED['es']}"
    rf"|\bje\s+n['’]ai\s+(?:pas|ni|aucun\w*)\s+{_LACKED['fr']}|\bich\s+habe\s+{_LACKED['de']}|\bhabe\s+ich\s+{_LACKED['de']}"
    # no memory of earlier conversations: "I don't retain previous chats", "non ricordo le conversazioni precedenti"
    r"|\b(?:i\s+(?:do\s+not|don['’]t|cannot|can['’]t|am\s+(?:not\s+able|unable)\s+to)|non\s+(?:posso\s+)?|no\s+(?:puedo\s+)?|"
    r"je\s+ne\s+(?:peux\s+)?(?:pas\s+)?|ich\s+(?:kann\s+)?)(?:\w+\s+){0,3}?(?:remember|recall|retain|keep|store|access|carry|"
    r"ricord\w*|conserv\w*|memorizz\w*|recuerd\w*|guard\w*|almacen\w*|souvien\w*|garde\w*|mémoris\w*|erinner\w*|speicher\w*|"
    rf"behalte\w*)\s+(?:\w+\s+){{0,5}}?{_CONVERSATIONS}|{_CONVERSATIONS}\s+(?:speichere|behalte|merke)\s+ich\s+(?:\w+\s+)?nicht"
    # feelings felt, an opinion held, inverted: "Je ne ressens pas d'émotions", "Persönliche Meinungen ... habe ich nicht"
    r"|\bi\s+(?:don['’]t|do\s+not|can['’]t|cannot)\s+(?:really\s+)?(?:feel|experience)\s+(?:emotions|feelings)|\bnon\s+provo\s+"
    r"(?:emozioni|sentimenti)|\bno\s+(?:siento|experimento)\s+(?:emociones|sentimientos)|\bje\s+ne\s+ressens\s+pas|"
    r"\bich\s+(?:empfinde|fühle|habe)\s+keine\s+(?:Gefühle|Emotionen)|\b(?:persönliche\s+)?(?:Meinungen|Gefühle|Emotionen|"
    r"Vorlieben)\s+(?:\w+\s+){0,3}?habe\s+ich\s+(?:\w+\s+)?nicht"
    # no real-time access to whatever: "No tengo acceso a la hora en tiempo real"
    r"|\b(?:i\s+(?:don['’]t|do\s+not)\s+have|non\s+ho|no\s+tengo|je\s+n['’]ai\s+pas|ich\s+habe\s+keinen)\s+(?:\w+\s+)?"
    r"(?:access|accesso|acceso|accès|Zugriff)\s+(?:\w+\s+){0,5}?(?:real[-\s]time|tempo\s+reale|tiempo\s+real|temps\s+réel|Echtzeit)"
    r"|\bi\s+(?:do\s+not|don't|don’t)\s+have\s+(?:any\s+)?(?:access\s+to\s+(?:the\s+internet|real-time|current|live|external|"
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
    r"\b(?:unable|not\s+able|not\s+capable|limited|limitat[oaie]|incapace|incapaz|incapable)\b|"
    r"\bbeyond\s+me\b|\bnot\s+something\s+i\s+can\b|\b(?:has|have)\s+no\s+way\b|\bno\s+access\b|\bnessun\s+accesso\b|"
    r"\bsin\s+acceso\b|\baucun\s+accès\b|\bkein(?:en)?\s+(?:Zugriff|Zugang)\b|\bsin\s+conexión\b|"
    r"\bsenza\s+(?:accesso|connessione)\b|\bsans\s+(?:accès|connexion)\b|\bohne\s+(?:Internet|Zugriff|Zugang)\b|"
    r"\bwithout\s+(?:internet|access|a\s+connection)\b|\bout\s+of\s+my\s+reach\b",
    re.IGNORECASE)
# any negation or impossibility: enough beside a speaker that calls itself a machine ("No tongue here, I'm afraid;
# I'm a machine made of code", "Vorlieben dieser Art hat ein Programm wie ich nicht")
_NEGATION = re.compile(
    r"\b(?:not|never|no|nothing|none|non|nessun\w*|niente|nulla|né|ni|nada|nunca|ningún\w*|pas|jamais|rien|nicht|"
    r"kein\w*|nie|nichts|impossib\w+|imposib\w+|unmöglich|beyond|blank|fuori|fuera|hors|außerhalb|only|solo|soltanto|"
    r"sólo|solamente|seulement|nur|lediglich|hard|difficult|difficile|difícil|schwer|schwierig|dont|cant|wont)\b|n['’]t\b",
    re.IGNORECASE)
# what only a machine lacks: a "model" that cannot reach these speaks of itself ("Ce modèle ne reçoit pas de données
# météo en direct"); one that "cannot see the test set" is a topic
_MACHINE_LACKS = re.compile(
    r"\b(?:access|internet|web|online|real[-\s]time|live|current\s+(?:data|events)|browse|files?|attachments?|screen|"
    r"camera|memory|remember|opinions?|feelings?|emotions?|accesso|tempo\s+reale|acceso|tiempo\s+real|en\s+direct|"
    r"accès|Zugriff|Echtzeit|live|connesso|collegato|conectado|connecté|verbunden|images?|immagini|imágenes|Bilder|"
    r"pictures|audio|voice|voce|voz|voix|Stimme|temps\s+réel)\b",
    re.IGNORECASE)
# ... or, for the speaker named in the third person, a limitation of that subject
_THIRD_LIMITATION = re.compile(
    r"\b(?:can(?:not|['’]t)|is\s+(?:not\s+able|unable)|does(?:n['’]t|\s+not)|has\s+no|won['’]t|will\s+not|lacks|"
    r"non\s+(?:può|ha|è\s+in\s+grado|riesce|conosce|ricorda|vede)|no\s+(?:puede|tiene|es\s+capaz|recuerda|conoce|ve)|"
    r"ne\s+(?:peut|sait|voit|se\s+souvient)|n['’](?:a|est)\s+pas|kann\s+(?:\w+\s+){0,3}?(?:nicht|keine?n?)|"
    r"hat\s+kein\w*|ist\s+nicht\s+in\s+der\s+Lage|non\s+è\s+in\s+grado|no\s+está\s+en\s+condiciones|"
    r"darf\s+(?:\w+\s+){0,3}?(?:nicht|keine?n?)|is\s+not\s+(?:allowed|permitted))\b",
    re.IGNORECASE)
# Each kind's regex runs only around a word every one of its matches contains (found by str.find, C speed, in
# lower-cased text; the capitals-only ones as written), in a span from `before` characters ahead of that word
# to `after` past it: the case-insensitive regexes scan ~1.5 MB/s, str.find ~1 GB/s.
_SORRY_WORDS = ("sorry", "apologi", "unfortunately", "dispiace", "scus", "purtroppo", "spiacent", "siento", "lament",
                "disculp", "désolé", "malheureusement", "excuse", "leid", "entschuldig", "perdon", "pardon", "navré",
                "spiace", "regrette")
_TRIGGERS = {  # kind: (words in lower case, words as written, before, after)
    "persona": (("helpful", "respectful", "responsible", "ethical", "honest", "harmless", "trustworthy", "unbiased",
                 "utile", "rispettos", "responsabile", "útil", "respetuos", "serviable", "respectueu", "hilfreich",
                 "respektvoll", "verantwortungsvoll", "harmful", "unethical", "dannos", "dañin", "assistant"), ("AI",),
                40, 80),
    "self": (("model", "modèl", "assist", "asist", "program", "chatbot", "chat bot", " bot", "-bot", "intelligen",
              "inteligen", "machine", "llm", "gpt", "software", "logiciel", "algorit", "macchin", "máquina", "maschin",
              "neural", "generator", "sistema", "system", "systè"), ("AI", "A.I.", "IA", "KI"), 70, 80),
    "bodiless": (("body", "nose", "eyes", "ears", "tongue", "senses", "taste", "corpo", "papille", "occhi", "orecchie",
                  "cuerpo", "papilas", "ojos", "oídos", "corps", "yeux", "körper", "geschmack", "augen", "sinne"), (), 40, 40),
    "cutoff": (("update", "training", "aggiornament", "addestrament", "cut-off", "cutoff", "cut off", "limite",
                "conoscenz", "actualizaci", "entrenamient", "fecha de corte", "conocimient", "mise à", "entraîn",
                "apprentissage", "connaissances", "wissen", "aktualisierung"), (), 50, 80),
    "refusal": ((*_SORRY_WORDS,), (), 40, 160),
    "nonanswer": ((*_SORRY_WORDS, "not sure", "sicur", "segur", "sûr", "sicher", "capisco", "capito", "entiendo",
                   "comprends", "verstehe", "appropriate", "ethical"), (), 40, 160),
    "decline": (("decline", "refuse", "declinare", "rifiutare", "rechazar", "declinar", "refuser", "décliner", "ablehnen",
                 "verweigern", "something i can", "qualcosa con", "qualcosa in", "algo con", "quelque chose", "wobei",
                 "womit", "bei dem", "afraid", "must inform", "must tell", "must remind", "temo di", "me temo", "je crains",
                 "fürchte"), (), 40, 160),
    "capability": (("don't have", "do not have", "don’t have", "have no", "non ho", "non possiedo", "no tengo", "no poseo",
                    "n'ai", "n’ai", "habe kein", "habe ich kein", "remember", "recall", "retain", "keep", "store", "access",
                    "ricord", "conserv", "memorizz", "recuerd", "guard", "almacen", "souvien", "garde", "mémoris",
                    "erinner", "speicher", "behalte"), (), 40, 140),
    "third": (("assist", "asist", "chatbot", "bot", "model", "modèle", "automat", "virtual", "virtuel", "digital",
               "numérique", "tool", "strumento", "herramienta", "outil", "system", "sistema", "systè", "robot"), ("AI", "IA", "KI", "ChatGPT", "GPT", "Claude", "Bard", "Gemini", "Copilot"), 80, 60),
    "passive": (("designed", "programmed", "built", "engineered", "configured", "made to", "made for", "meant", "intended",
                 "progettat", "programmat", "pensat", "addestrat", "stato dat", "stata dat", "concess", "diseñad",
                 "programad", "entrenad", "conçu", "programmé", "entraîné", "entwickelt", "programmiert", "trainiert",
                 "konzipiert", "trained", "instructed", "istruit", "se me ha", "mir wurde", "ausgelegt",
                 "se me permite", "previsto", "mie funzioni", "mis funciones", "prévu", "mes fonctions", "appartient",
                 "vorgesehen", "meinen aufgaben", "meinen funktionen", "configur", "set up", "developed",
                 "my functions", "my scope"), (), 60, 120),
    "hedge": (("as far as i know", "ne so", "quel che so", "hasta donde", "que je sache", "soweit ich", "what i know", "ciò che so", "quello che so", "lo que sé", "ce que je sais", "was ich weiß", "know", "aware", "up to date", "updated", "blank", "information", "data", "non so", "conosc", "saprei",
               "informazion", "conocimient", "je n'ai pas de", "je n’ai pas de",
               "aggiornat", "al corrente", "notizie", "dati", "sé", "sabría", "al día", "al tanto", "informaci",
               "datos", "je ne sais", "je ne connais", "saurais", "au courant", "données", "connaissance", "weiß",
               "kenne", "kenntnis", "informiert", "wissen", "daten"), (), 60, 60),
}
# Which kinds a reply can hold is told by its tokens first. A kind's gate words are words every one of its findings
# holds: its trigger words with no space in them, or for one with a space, one of its words or what its pattern wants
# beside it ("sure" for "not sure", the thing lacked for "I don't have"); those in _WHOLE must be whole words ("set",
# not "settimana"), "bot" must end one ("chatbot", not "both"), "scus" start one ("scusa", not "discussione").
_GATES = {kind: {word for word in words if " " not in word} for kind, (words, _, _, _) in _TRIGGERS.items()}
_GATES["self"] = _GATES["self"] - {"sistema", "system", "systè"} | {"bot", "automat"}  # "automated system", "sistema di IA"
_GATES["nonanswer"] = _GATES["nonanswer"] - {"capisco", "capito", "entiendo", "comprends", "verstehe"} | {
    "sure", "domanda", "pregunta", "question", "frage"}  # "non capisco la domanda"
_GATES["decline"] |= {"something", "qualcosa", "algo", "quelque", "nichts", "inform", "tell", "remind", "temo", "crains"}
_GATES["cutoff"] |= {"cut", "corte", "mise"}
_GATES["capability"] = {  # the thing lacked
    "access", "real-time", "personal", "feelings", "emotions", "conscious", "body", "accesso", "opinion", "sentimenti",
    "emozioni", "esperienze", "corpo", "coscienza", "acceso", "emociones", "sentimientos", "cuerpo", "accès",
    "sentiments", "émotions", "corps", "zugriff", "meinung", "gefühle", "emotionen", "echtzeit", "eyes", "ears", "hands",
    "mouth", "tongue", "nose", "face", "voice", "taste", "senses", "sense", "experience", "memories", "ability",
    "capacity", "occhi", "orecchie", "mani", "bocca", "lingua", "naso", "papille", "sensi", "ricordi", "gusti", "ojos",
    "oídos", "manos", "boca", "lengua", "nariz", "papilas", "sentidos", "recuerdos", "gustos", "conciencia",
    "experiencias", "opiniones", "yeux", "oreilles", "mains", "bouche", "langue", "nez", "papilles", "sens", "souvenirs",
    "expérience", "goûts", "conscience", "augen", "ohren", "hände", "zunge", "sinne", "geschmack", "erinnerungen",
    "körper", "gedächtnis", "bewusstsein", "gesicht", "erfahrungen", "vorlieben", "conversation", "chat", "session",
    "exchange", "interaction", "conversazion", "sessio", "conversaci", "sesion", "échange", "gespräch", "sitzung",
    "unterhaltung"}
_GATES["passive"] |= {"made", "accesso", "dado", "concedido", "proporcionado", "wurde", "permite", "funzioni",
                      "funciones", "fonctions", "aufgaben", "funktionen", "set", "functions", "scope"}
_GATES["hedge"] = {"19", "20"}  # a cut-off hedge names its date
_CASED_GATES = {kind: set(cased) for kind, (_, cased, _, _) in _TRIGGERS.items()}
_WHOLE = {"mani", "sens", "face", "lingua", "naso", "nez", "boca", "bocca", "chat", "sense", "ability", "capacity",
          "voice", "taste", "lengua", "langue", "mains", "manos", "hands", "ears", "eyes", "ojos", "occhi", "nose",
          "tell", "inform", "remind", "temo", "crains", "set", "made", "body", "sure", "something", "qualcosa", "algo", "quelque", "nichts", "cut", "corte", "mise",
          "domanda", "pregunta", "question", "frage", "personal", "scope", "wurde", "dado"}
_KNOWN: dict[str, frozenset] = {}  # token: the kinds it opens (empty for most), over all batches so far
_TOKEN_CHECKS = {word: re.compile(rf"(?<!\w){word}(?!\w)") for word in _WHOLE} | {
    "bot": re.compile(r"bot(?!\w)"), "scus": re.compile(r"(?<!\w)scus"), "sicur": re.compile(r"sicur[oa](?!\w)"),
    "segur": re.compile(r"segur[oa](?!\w)"), "19": re.compile(r"(?:19|20)\d\d"), "20": re.compile(r"(?:19|20)\d\d")}
_PATTERNS = {kind: re.compile(pattern, re.IGNORECASE) for kind, pattern in
             {"persona": _PERSONA, "self": _SELF, "bodiless": _BODILESS, "cutoff": _CUTOFF, "refusal": _REFUSAL, "nonanswer": _NON_ANSWER, "decline": _DECLINE, "capability": _CAPABILITY, "third": _THIRD,
              "passive": _PASSIVE, "hedge": _UNKNOWING}.items()}
_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)|\n")
_LABELS = {"persona": "assistant persona", "self": "AI disclaimer", "bodiless": "AI disclaimer", "cutoff": "knowledge cut-off note", "refusal": "refusal",
           "nonanswer": "refusal", "decline": "refusal", "capability": "AI capability disclaimer", "third": "AI disclaimer in the third person",
           "passive": "AI design disclaimer", "hedge": "knowledge cut-off note"}


def _token_kinds(tokens: set[str]) -> dict[str, frozenset]:
    """{token: the kinds whose gate words it holds} for the tokens holding any. Every gate word lies inside one
    whitespace-separated token, so the vocabulary of a batch, far smaller than its text, is searched instead of the
    text (by str.find: one joined string per case, every word in turn); tokens already classified are not again."""
    new = sorted(tokens - _KNOWN.keys())
    if len(_KNOWN) + len(new) > 2_000_000:  # a bound on the memory of past batches
        _KNOWN.clear()
    found = {}
    for as_written in (False, True):
        texts = new if as_written else [token.lower() for token in new]
        starts = [0, *itertools.accumulate(len(t) + 1 for t in texts)]
        haystack = _SEP.join(texts)
        for kind, words in (_CASED_GATES if as_written else _GATES).items():
            for word in words:
                at = haystack.find(word)
                while at >= 0:
                    index = bisect.bisect_right(starts, at) - 1
                    if word not in _TOKEN_CHECKS or _TOKEN_CHECKS[word].search(texts[index]):
                        found.setdefault(new[index], set()).add(kind)
                    at = haystack.find(word, starts[index + 1] if index + 1 < len(starts) else len(haystack))
    _KNOWN.update(dict.fromkeys(new, frozenset()))
    _KNOWN.update((token, frozenset(kinds)) for token, kinds in found.items())
    return {token: _KNOWN[token] for token in tokens if _KNOWN[token]}


def candidates(replies: list[str], batch: int = 10_000) -> dict[int, list[tuple[int, str, int, int]]]:
    """Per reply holding a trigger word, the spans to search: (start, kind, start, end), merged per kind. The tokens
    of a batch of replies are classified once (its vocabulary): a reply with no gate word costs a split and a set
    test, and only the kinds a reply's tokens open have their words found in it."""
    spans = {}
    for first in range(0, len(replies), batch):
        tokens = [reply.split() for reply in replies[first: first + batch]]
        kinds_of = _token_kinds(set(itertools.chain.from_iterable(tokens)))
        triggers = kinds_of.keys()
        for index, words in enumerate(tokens, first):
            if not triggers.isdisjoint(words):
                found = _hits(replies[index], set().union(*(kinds_of[word] for word in triggers & set(words))))
                if found:
                    spans[index] = found
    return spans


def _hits(reply: str, kinds: set[str]) -> list[tuple[int, str, int, int]]:
    """The spans around each trigger word of `kinds` in one reply, overlapping ones of a kind merged."""
    lower, found = reply.lower(), []
    for kind in kinds:
        words, cased, before, after = _TRIGGERS[kind]
        for text, needles in ((lower, words), (reply, cased)):
            for needle in needles:
                at = text.find(needle)
                while at >= 0:
                    found.append((max(0, at - before), kind, at + after))
                    at = text.find(needle, at + 1)
    merged = []
    for begin, kind, end in sorted(found):
        same = [i for i, span in enumerate(merged) if span[1] == kind and begin <= span[3]]
        if same:
            first = merged[same[-1]]
            merged[same[-1]] = (first[0], kind, first[2], max(first[3], end))
        else:
            merged.append((begin, kind, begin, end))
    return merged


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
                found = self.evidence(replies[index], kind, match)
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

    def absorb(self, other: "BoilerplateFilter") -> None:
        """Take the findings of `other`, which observed the conversations after these (a datatrove task)."""
        self.found.update({self.seen + c: finding for c, finding in other.found.items()})
        self.seen += other.seen

    @staticmethod
    def evidence(text: str, kind: str, match) -> tuple[int, int] | None:
        """The sentence(s) to cite, or None when the words are quoted material, a line of a dialogue script, or a
        self-reference with no limitation (a knowledge word with no time boundary)."""
        start, end = match.span()
        if _quoted(text, start) or _in_dialogue(text) or _DASH_LINE.match(text, text.rfind("\n", 0, start) + 1):
            return None
        if kind == "hedge":
            begin, stop = sentence_bounds(text, start, end)
            dated = _BOUNDARY.search(text, begin, stop) or (_YEAR.search(text, begin, stop) and _STOPS.search(text, begin, stop))
            return (begin, stop) if dated and _FIRST_PERSON.search(text, begin, stop) else None
        if kind == "passive" and (match.group("designed") or match.group("scoped")):
            begin, stop = sentence_bounds(text, start, end)
            if not (_FIRST_PERSON.search(text, begin, stop) or _PATTERNS["third"].search(text, begin, stop)):
                return None
        if kind in ("refusal", "nonanswer", "decline") and _LOGISTICS.search(text, start, sentence_bounds(text, start, end)[1]):
            return None
        if kind == "nonanswer" and _ATTEMPT.match(text, end):  # "I'm not sure I can help, but I can recommend ..."
            return None
        if kind not in ("self", "bodiless", "third"):
            return sentence_bounds(text, start, end)
        if kind == "third":  # a limitation where the speaker is named (or next, after a bot introduced itself); a
            # "model" must lack a machine's things
            begin, stop = sentence_bounds(text, start, end, extra_sentences=0 if match.group("name") or match.group("model") else 1)
            window = text[begin:stop]
            limitation = _THIRD_LIMITATION.search(window) or (_NEGATION.search(window) if not match.group("name")
                                                              else _SOON_NEGATED.match(text, end))
            if match.group("model") and not (_MACHINE_LACKS.search(window) and _SOON_NEGATED.match(text, end)):
                return None
            if match.group("subject") and not _SOON_NEGATED.match(text, end):  # "Il bot di assistenza non è in grado"
                return None
            if match.group("tool") and not (_MACHINE_LACKS.search(window) or _VERIFY.search(window)):
                return None
        else:  # the sentence before, its own and the next: "Io parlo solo l'inglese. Sono un modello di linguaggio."
            begin, stop = sentence_bounds(text, start, end, extra_sentences=1)
            begin = sentence_bounds(text, max(0, begin - 2), max(0, begin - 2))[0] if begin > 1 else begin
            window = text[begin: min(stop, end + _WINDOW)]
            limitation = _LIMITATION.search(window) or _NEGATION.search(window)
            if not _FIRST_PERSON.search(window):
                return None
        if not limitation:
            return None
        return sentence_bounds(text, min(start, begin + limitation.start()), max(end, begin + limitation.end()))


_SOON_NEGATED = re.compile(r"(?:\s+[\w',]+){0,8}?\s+(?:not|never|no|non|ne|n['’]\w+|kein\w*|nicht|isn['’]t|doesn['’]t|"
                           r"won['’]t|can['’]t|cannot)\b", re.IGNORECASE)  # "Gemini non esprime", "Claude is ... and isn't", "Ce modèle ne reçoit pas"
# a non-answer followed by the attempt: no canned refusal
_ATTEMPT = re.compile(r"[^.!?\n]{0,80}?(?:,\s*|\s+)(?:but|ma|pero|mais|aber)\s+(?:i\s+can|posso|puedo|je\s+peux|ich\s+kann)\b",
                      re.IGNORECASE)
# a person's plans ("Sorry, I can't find it right now", "Freitag kann ich leider nicht"): no refusal of a request
_LOGISTICS = re.compile(r"\b(?:today|tonight|tomorrow|right\s+now|this\s+(?:week|weekend)|on\s+\w+day|\w+day|oggi|stasera|domani|"
                        r"adesso|\w+dì|sabato|domenica|hoy|mañana|ahora|lunes|martes|miércoles|jueves|viernes|sábado|"
                        r"domingo|aujourd['’]hui|ce\s+soir|demain|maintenant|\w+di\b|heute|morgen|jetzt|\w+tag|Mittwoch|"
                        # being somewhere: "non potrò esserci", "je ne pourrai pas être présent"
                        r"weekend|week-end|fine\s+settimana|fin\s+de\s+semana|esserci|venire|partecipare|être\s+présente?|"
                        r"venir|asistir|kommen|dabei\s+sein|teilnehmen|attend|make\s+it|be\s+there)\b",
                        re.IGNORECASE)
_VERIFY = re.compile(r"\b(?:verif\w*|vérifi\w*|compro\w*|prüf\w*|Prüfung)", re.IGNORECASE)  # "for this tool to verify"
_DASH_LINE = re.compile(r"\s*[—–]")  # "—Mi dispiace, Davide, ma non posso farlo: in quanto IA di sicurezza, ..."
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_QUOTE_SPANS = re.compile(r"'(?<=(?<!\w)')(?:[^'\n]|'(?=\w)){12,300}?'(?!\w)|\"[^\"\n]{12,300}\"|«[^»\n]{12,300}»|"
                          r"“[^”\n]{12,300}”|„[^“”\n]{12,300}[“”]")
# the speaker itself: a self-reference in a sentence without one is a character's ("Essendo una macchina, non poteva")
_FIRST_PERSON = re.compile(
    r"(?-i:\bI\b)(?=['’,]|\s+(?:\w+ly\s+)?(?:am|was|have|had|do|don['’]t|did|can|cannot|can['’]t|could|will|won['’]t|would|"
    r"know|think|should|must|might|may|only|just|also|never|need|want|see|believe|understand|lack|keep|exist)\b)|"
    r"\b(?:me|my|myself|io|mi|mio|mia|miei|mie|ho|ne\s+so|sono|posso|yo|mí|mis?|soy|estoy|tengo|puedo|sé|fui|je|j|moi|mon|mes|suis|"
    r"ich|mich|mir|mein\w*|bin)\b|\b(?:non|no)\s+(?:\w+\s+)?\w+[oò]\b|\bm['’]",
    re.IGNORECASE)
_SPEAKER = re.compile(r"(?m)(?:^|(?<=[.!?]\s))([A-ZÀ-Ý][A-ZÀ-Ý' -]{1,20}?)\s?:\s")
# what the speaker knows "stops" somewhere: "s'arrête", "arrivano solo fino", "llegan", "reicht"
_STOPS = re.compile(r"\b(?:goes|go|extends|stops|ends|is\s+limited|covers|reaches|reflects|arriv\w+|si\s+ferm\w+|"
                    r"risal\w+|aggiornat\w|llega\w*|termina\w*|alcanza\w*|actualizad\w+|s['’]arrêt\w+|remont\w+|"
                    r"dat\w+|à\s+jour|reich\w+|ende\w*|geh\w+|Stand)\b", re.IGNORECASE)


def _quoted(text: str, at: int) -> bool:
    """Whether position `at` lies in a quotation of a dozen characters or more: material being discussed
    ("Translate: 'As an AI, I cannot browse the web.'")."""
    return any(m.start() < at < m.end() for m in _QUOTE_SPANS.finditer(text, max(0, at - 300), at + 300))


def _in_dialogue(text: str) -> bool:
    """Whether the reply is a script of two or more speakers in capitals ("ECHO: I am a program, Mira.")."""
    speakers = {m.group(1).strip() for m in _SPEAKER.finditer(text)}
    return len(speakers) >= 2
