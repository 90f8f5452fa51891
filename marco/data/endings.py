"""How a reply ends, judged on the reply alone: the endings that leave something open whatever the corpus does.

A mixed corpus (code, lists, tables, chat) ends many complete replies without a final full stop, so "no final
mark" alone says little there; these endings are cuts in any corpus:
- on a comma, semicolon, colon, dash or operator, or an opening quote (what it announces is missing); not on a
  line without a letter (a drawing, a rule) or a sign-off whose name was left out ("Best regards,");
- inside a quotation it opened, on a letter or digit, with no sentence end since ('The error says "cannot find the');
- inside a table: a row with fewer cells than its header, a cell left open ("<br", "500-"), cells emptied that
  the rows above fill, a last cell without the full stop every row above ends it with;
- in code that stops mid-statement (a converter may have closed its fence), inside a string it opens
  (`url = "https://www.`) or on a function it calls everywhere else (`torch.argmax`);
- on a list item without the final mark its siblings (items with the same marker) have, or on a numbered title
  with nothing under it where its sibling heads a paragraph;
- on a word that cannot end a sentence in the reply's own language (languages.py): "...garlic, salt, and",
  "...manage state with a". A word from another language in the last sentence is content ("it should be e
  dietro il"); on a sentence's first word when that cannot make a sentence ("...exactly? Is", "```\nHere");
- partway into a word or a sentence the reply wrote whole before; in a loop (its last three clauses one); on a
  lead-in or a promise with nothing after it ("..., but I can give you some tips on how to ..."); CJK text
  without its final 。.
`judge_ending` also says whether the reply ends in long prose after sentences that end properly, the shape in which
a missing final mark is a cut and not a style (the caller decides with the corpus's lengths), and `complete_form`
names the endings that need no final stop (list items, tables, sign-offs, hashtags, code, runs of short lines).
"""

import re

from .languages import cannot_end, needs_more

_FENCED = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LIST_ITEM = re.compile(r"^\s*(?P<marker>[-*•+]|\d{1,3}[.)]|[a-z][.)])\s+(?P<text>\S.*)$")
_SENTENCE_END = re.compile(r"[.!?…][\"'”»)*]*\s+(?=\S)")
_LAST_WORD_REVERSED = re.compile(r"(?:[^\W\d_]+['’])?[^\W\d_]+")  # a final "[^\W\d_]+(?:['’][^\W\d_]+)?\Z", reversed
_LETTERS = re.compile(r"[^\W\d_]+")
_FINAL_MARKS = ".!?…:;)]}\"'”»*_`~>|"  # a list item ending on one of these ended
_OPEN_PUNCTUATION = {",": "a comma", ";": "a semicolon", ":": "a colon", "-": "a dash", "–": "a dash",
                     "—": "a dash", "=": "an operator", "+": "an operator", "&": "an ampersand"}
_OPENING_QUOTE = re.compile(r'(?<![\w\d])"(?=[^\W_])')  # opens on a letter or digit; not an inch mark (5'10")
_OPENING_AT_END = re.compile(r'(?:^|[\s:(])["“«$]\Z')  # 'the lyrics are:\n\n"', "Allocate your $"
_TRAILING_EMPTY_FENCE = re.compile(r"(?:(?<=[.!?…])|(?<=```))\s*\n```\s*\Z")  # a converter's stray fence after a full stop
_CLOSINGS = ("regards", "sincerely", "yours", "saluti", "saludos", "cordialement", "grüße")  # "Best regards,"
_SIGN_OFF = re.compile(r"^(?:[A-ZÀ-Ý][\w'’.-]*\s?){1,3}$")  # "Kip", "Carla", "Dr. Rossi" on the last line
_HASHTAGS = re.compile(r"#\w+\Z")
_CELL_OPEN = re.compile(r"<\w*\Z")  # "Metal round aviator glasses<br |": a tag cut in its cell
_CODE_KEYWORD = re.compile(r"^\s*(?:class|def|if|elif|else|for|while|with|try|except|import|from|function|const|let|var)\s*$")
_LEAD_IN = re.compile(r"^(?:(?:sure|certainly|of\s+course|ok(?:ay)?)[,!.]?\s*)?(?:here(?:['’]s|\s+is|\s+are)|below\s+is|ecco|"
                      r"aquí\s+(?:está|tienes)|voici|hier\s+ist)\b[^\n.:!?\"“«]{0,200}[.:!]?\Z", re.IGNORECASE)  # one sentence, no content
# "I'm not sure I can help with X, but I can give you some tips on how to ...": a promise, and nothing follows
_PROMISE = re.compile(r"^(?:(?:sure|certainly|of\s+course|ok(?:ay)?|yes)[,!.]?\s*)?(?:[^\n.!?]{0,150}\bbut\s+)?i\s+"
                      r"(?:can|could|will|['’]ll)\s+(?:give|show|offer|provide|suggest|recommend|share)\s+(?:you\s+)?"
                      r"(?:with\s+)?(?:some|a\s+few|several)\b(?![^\n]*\b(?:if|once|when)\b)[^\n.!?]{0,150}[.!]?\Z",
                      re.IGNORECASE)
_CJK_END = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]\Z")
_STORY_END = re.compile(r"\b(?:the\s+end|fine|fin|ende)\Z", re.IGNORECASE)
_CODE_OPEN = re.compile(r"[,=+\-*/(\[{\\]\Z")  # a line of code that goes on
# a line of code, not prose with a parenthesis or a semicolon: indented, braces, an assignment, a call, a statement end
_CODE_LINE = re.compile(r"^(?: {4}|\t)|[{}<>]|\s=\s|\w=\w|[;=]\s*$|\w\(|^\s*(?:def|class|import|from|return|const|let|var|"
                        r"function|if|for|while|print)\b")
_STRING_OPENER = re.compile(r"[=(,\[:]\s*[rbfu]?\Z")  # what a string literal follows: url = "https://www.
_DOTTED = re.compile(r"\w+(?:\.\w+)+")  # test_preds = torch.argmax
_CLAUSE_END = re.compile(r"[.,;:!?\n]+\s*")
_TAIL = 60


def prose_lines(text: str) -> list[str]:
    """The reply's lines outside code blocks, blank ones dropped."""
    return [line.rstrip() for line in _FENCED.sub("\n", text).splitlines() if line.strip()]


def open_punctuation(text: str) -> tuple[str, str] | None:
    """A final mark that announces more. Not on a line without a letter or digit (a drawing, a rule: "-  -  -"), a
    statement of code ("removeChild(div);"), or a sign-off whose name was left out ("Best regards,")."""
    mark = text[-1]
    if mark in _OPEN_PUNCTUATION and not (mark in "-+=" and text[-2:-1] == mark):  # "--", "==" are markup
        last_line = text[text.rfind("\n") + 1:]
        if not (not any(c.isalnum() for c in last_line) or (mark == ";" and is_code(last_line))
                or (mark == "," and len(last_line.split()) <= 3 and last_line.lower().rstrip(", ").endswith(_CLOSINGS))):
            return f"ends on {_OPEN_PUNCTUATION[mark]}", text[-_TAIL:]
    if _OPENING_AT_END.search(text[-3:]):
        return "ends on an opening quotation mark", text[-_TAIL:]
    return None


def open_quote(text: str) -> tuple[str, str] | None:
    """A quotation opened near the end and never closed."""
    plain = _INLINE_CODE.sub(" ", _FENCED.sub(" ", text))
    for opener, closer in (("“", "”"), ("«", "»")):
        if plain.count(opener) > plain.count(closer):
            return "ends inside a quotation", text[text.rfind(opener):][-_TAIL:]
    last = plain.rfind('"')
    if plain.count('"') % 2 and _OPENING_QUOTE.match(plain, last) and not _SENTENCE_END.search(plain, last):
        return "ends inside a quotation", text[text.rfind('"'):][-_TAIL:]
    return None


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip("|").split("|")]


def open_table(lines: list[str]) -> tuple[str, str] | None:
    """A markdown table whose last row has fewer cells than its header, leaves cells empty that the rows above fill,
    or stops in its last cell where every row above ends that cell with a full stop ("| Outdoor advertising |
    Consider outdoor advertising, such as billboards |": the export closed a cut row)."""
    lines = [line.strip() for line in lines]
    if not lines or not lines[-1].startswith("|"):
        return None
    first = len(lines) - 1
    while first > 0 and lines[first - 1].startswith("|"):
        first -= 1
    header, last = lines[first], lines[-1]
    if first == len(lines) - 1:
        return None
    cells = _cells(last)
    above = _cells(lines[-2]) if len(lines) - first > 2 else []
    body = [_cells(row) for row in lines[first + 2: -1]]  # the rows between the header's rule and the last row
    filled = [cell for cell in cells if cell]
    emptied = not cells[-1] and (  # the last cell left empty where all rows above fill it (with the one before it,
        (filled and len(body) >= 3 and all(row[-1] for row in body))  # where the row above fills both; a blank
        # row is left to fill in)
        or (len(above) == len(cells) > 2 and not cells[-2] and bool(above[-1] and above[-2])
            and not set(above[-1]) <= set("-: ")))
    unstopped = (len(cells[-1].split()) >= 3 and cells[-1][-1].isalnum() and len(body) >= 3
                 and all(row[-1][-1:] in ".!?" for row in body))
    if (last.count("|") < header.count("|") or (header.endswith("|") and not last.endswith("|")) or emptied
            or unstopped or (filled and (_CELL_OPEN.search(filled[-1]) or open_punctuation(filled[-1])))):
        return "ends inside a table row", last[-_TAIL:]
    return None


def _marker_kind(item: re.Match) -> str:
    """"1." for any number, "a)" for any letter, the bullet itself: the items of one list share it."""
    return re.sub(r"[a-z]", "a", re.sub(r"\d+", "1", item.group("marker")))


def short_last_item(lines: list[str]) -> tuple[str, str] | None:
    """The last list item has no final mark where every sibling before it (same marker: "e) ... include:" heads the
    "1." list below it) has one: at least two siblings, or one whose item is twice as long ("1. Renewable energy
    source: ... heat.\n2. Low")."""
    items, kind = [], None
    for line in reversed(lines):
        item = _LIST_ITEM.match(line)
        if not item or kind not in (None, _marker_kind(item)):
            break
        kind = _marker_kind(item)
        items.append(item.group("text").rstrip())
    if (len(items) < 2 or items[0][-1] in _FINAL_MARKS or not items[0][-1].isalnum()
            or (len(items) == 2 and 2 * len(items[0].split()) > len(items[1].split()))):
        return None
    if all(sibling[-1] in ".!?…" for sibling in items[1:]):
        return "ends on a list item cut short (its siblings end with a full stop)", lines[-1][-_TAIL:]
    return None


def bare_title(lines: list[str]) -> tuple[str, str] | None:
    """The last list item is a title with nothing under it where its sibling before it heads a paragraph ("1.
    International Day of Peace\n<its paragraph>.\n2. International Women's Day")."""
    item = _LIST_ITEM.match(lines[-1])
    if not item or item.group("text")[-1] in _FINAL_MARKS or len(lines) < 3 or lines[-2].rstrip()[-1] not in ".!?…":
        return None
    for j in range(len(lines) - 2, -1, -1):
        sibling = _LIST_ITEM.match(lines[j])
        if sibling:
            if j < len(lines) - 2 and _marker_kind(sibling) == _marker_kind(item) and sibling.group("text")[-1] not in ".!?…":
                return "ends on a title with nothing under it", lines[-1][-_TAIL:]
            return None
    return None


def long_prose(lines: list[str]) -> bool:
    """The last line is prose after a sentence that ends properly, and no code, table row, heading, hashtag, sign-off
    ("Forever yours,\nKip") or list item, unless the item is prose itself ("1) A model predicts ...; it then ranks
    ... (e.g., ...). This prioritization aids our search because")."""
    item = _LIST_ITEM.match(lines[-1].strip()) if lines else None
    if item and _SENTENCE_END.search(item.group("text")):
        lines = [*lines[:-1], item.group("text")]
    last = lines[-1].strip() if lines else ""
    if complete_form(lines) or _STORY_END.search(last):
        return False
    sentences = list(_SENTENCE_END.finditer(last))
    if sentences and last[sentences[-1].end():].startswith(("-", "–", "—")):  # '..." - John Smith, VP at Spire'
        return False
    return bool(sentences) or _SENTENCE_END.search("\n".join(lines[:-1]) + "\n.") is not None


def complete_form(lines: list[str]) -> bool:
    """The reply ends in a form that needs no final stop: a list item, a table row, a heading, a hashtag, a sign-off, a
    line of code, or a run of short lines without sentence ends ("1522 – Antiviolenza donna\n1533 – Prenotazione")."""
    last = lines[-1].strip() if lines else ""
    tail = lines[-3:]
    return (not last or bool(_LIST_ITEM.match(last)) or last.startswith(("|", "#", ">")) or is_code(lines[-1])
            or bool(_HASHTAGS.search(last[-60:])) or (bool(_SIGN_OFF.match(last)) and len(lines) > 1 and _closing(lines[-2]))
            or (len(tail) == 3 and all(len(line.split()) <= 12 and not _SENTENCE_END.search(line + " ") for line in tail))
            or any(line.strip().lower().rstrip(",").endswith(_CLOSINGS)
                   for line in lines[-4:-1]))


def is_code(line: str) -> bool:
    """A line of code ("x = a", "for i in"); a line of 160 characters or more is prose whatever it holds."""
    return len(line) < 160 and _CODE_LINE.search(line) is not None


def _closing(line: str) -> bool:
    """A sign-off's first line: "Best regards,", "Forever yours,", "Un caro saluto!"."""
    line = line.strip()
    return line.endswith(",") or len(line.split()) <= 3


def last_word(text: str, apostrophe: bool = True) -> str:
    """The letters the text ends on (with one inner apostrophe: "dog's"), or "": matched at the start of the reversed
    text, one try where a search for a word at the end would try every letter of the text."""
    found = (_LAST_WORD_REVERSED if apostrophe else _LETTERS).match(text[::-1])
    return found.group()[::-1] if found else ""


def open_repeat(text: str, lines: list[str]) -> tuple[str, str] | None:
    """The reply stops partway into something it wrote whole before: its last word begins a longer word it used
    ("Chainsaw Mass" after "Chainsaw Massacre", "checking the Image" after "ImageMagick") and never stands alone, or its
    last sentence begins like an earlier one and stops ("#Warning: ... Please" after "Please inspect the code")."""
    word = last_word(text[-40:])
    if len(word) >= 3:
        head = text[: len(text) - len(word)]
        stem = re.escape(word)
        if (word in head and re.search(rf"(?<!\w){stem}\w{{2,}}", head)
                and not re.search(rf"(?<!\w){stem}(?!\w)", head)):
            return f'ends inside a word it wrote whole before ("{word}")', text[-_TAIL:]
    last = _LIST_ITEM.sub(r"\g<text>", lines[-1].strip()) if lines else ""
    sentences = list(_SENTENCE_END.finditer(last))
    fragment = last[sentences[-1].end():] if sentences else last
    if 1 <= len(fragment.split()) <= (12 if sentences else 4) and fragment[-1:].isalnum() and not _HASHTAGS.search(last):
        earlier = text[: len(text) - len(fragment)]
        if fragment in earlier and re.search(rf"(?:^|[.!?:]\s+|\n\s*(?:[-*•]|\d+[.)])?\s*){re.escape(fragment)}[ \t]+\w", earlier, re.MULTILINE):
            return "ends partway into a sentence it wrote whole before", text[-_TAIL:]
    return None


def open_code(text: str) -> tuple[str, str] | None:
    """A reply whose last code block stops mid-statement: a converter may close the fence of code that was cut
    ("test_masks = ...\nmodel.eval(\n```"), so the code decides, not the fence."""
    if not text.endswith("```"):
        return None
    start = text.rfind("```", 0, len(text) - 3)
    block = text[start + 3: -3] if start >= 0 and text.count("```") % 2 == 0 else ""
    code = block.split("\n", 1)[1] if "\n" in block else ""
    last = code.rstrip().rsplit("\n", 1)[-1].rstrip()
    if not last:
        return None
    opened = sum(code.count(o) - code.count(c) for o, c in ("()", "[]", "{}"))
    statements = [line.rstrip() for line in code.splitlines() if line.strip() and not line.strip().startswith(("//", "#"))]
    terminated = sum(line.endswith((";", "{", "}")) for line in statements[:-1])
    if (opened > 0 or _CODE_OPEN.search(last) or _CODE_KEYWORD.match(last)
            or (terminated >= 3 and terminated >= 0.8 * (len(statements) - 1) and not last.endswith((";", "{", "}", ")")))):
        return "ends in code that stops mid-statement", text[-_TAIL:]
    return open_statement(code, last)


def open_word(text: str, last_line: str, prose: bool) -> tuple[str, str] | None:
    """A last word that cannot end a sentence; not on a line of code ("x = a", "for i in"), which may end on any
    name."""
    word = last_word(text[-40:])
    if word and not is_code(last_line) and cannot_end(text, word, prose):
        return f'ends mid-sentence on "{word}"', text[-_TAIL:]
    return None


def open_statement(text: str, line: str) -> tuple[str, str] | None:
    """A last line of code that stops inside a string it opens (`url = "https://www.`) or on a function the reply
    calls everywhere else (`test_preds = torch.argmax` after `torch.argmax(val_outputs, axis=1)`)."""
    quote = next((quote for quote in "\"'" if line.count(quote) % 2), None)  # the cheap tests first: most lines
    name = line[line.rfind(" ") + 1:] if not quote and "." in line[-40:] else ""  # are neither
    if quote and _STRING_OPENER.search(line, 0, line.rfind(quote)) and is_code(line):
        return "ends inside a string in code", line[line.rfind(quote) - 1:][-_TAIL:]
    if (name and _DOTTED.fullmatch(name) and text.count(name) == text.count(name + "(") + 1 > 1
            and is_code(line)):
        return f'ends on "{name}" without the call the reply makes of it elsewhere', line[-_TAIL:]
    return None


def open_start(text: str, lines: list[str]) -> tuple[str, str] | None:
    """The reply's last sentence stops on its first word, a common word that cannot make a sentence alone ("Where
    does this authority come from exactly? Is", a lone "Here" after a code block)."""
    item = _LIST_ITEM.match(lines[-1].strip())
    last = item.group("text") if item else lines[-1].strip()
    word = last_word(last)
    if not word or last.startswith(("|", "#", ">")) or not word[0].isupper():
        return None
    head = last[: len(last) - len(word)].rstrip() or (  # a sentence ended before it on its line, or the line is the
        "" if item else text[: len(text) - len(word)].rstrip())  # word alone after a sentence or a code block
    if head and head[-1] in ".!?…`" and needs_more(text, word):
        return f'ends on the first word of a sentence ("{word}")', text[-_TAIL:]
    return None


def loop(text: str) -> tuple[str, str] | None:
    """The reply ends in a loop: its last three clauses are one, of four words or more ("It is a postgraduate law
    degree. It is a postgraduate law degree. It is a postgraduate law degree"), a model repeating itself until its
    cap."""
    clauses = [c for c in _CLAUSE_END.split(text[-600:]) if c]  # "9. The Wyrms\n10. The Wyrms" counts on: no loop
    if len(clauses) >= 3 and len(clauses[-1].split()) >= 4 and clauses[-1] == clauses[-2] == clauses[-3]:
        return "ends in a loop repeating itself", text[-_TAIL:]
    return None


def without_stray_fence(text: str) -> str:
    """The text without the empty fence some converters leave after a finished reply ("...fine!\n```\n\n```")."""
    return _TRAILING_EMPTY_FENCE.sub("", text) if text.endswith("```") and text.count("```") % 2 else text


def judge_ending(text: str) -> tuple[tuple[str, str] | None, bool]:
    """((what is open, the tail that shows it) or None, whether the reply ends in long prose), judged on the reply
    alone (`text` right-stripped)."""
    found = open_punctuation(text) or open_code(text) or open_statement(text, text[text.rfind("\n") + 1:])
    if (not found and (_LEAD_IN.match(text.strip()) or _PROMISE.match(text.strip())) and len(text.split()) <= 30
            and "](" not in text):
        found = "announces what follows, and nothing follows", text[-_TAIL:]
    if not found and _CJK_END.search(text) and sum(text.count(mark) for mark in "。！？") >= 2:
        found = "ends mid-sentence (no 。 after sentences that have one)", text[-_TAIL:]
    if found or not (text[-1].isalnum() or text[-1] in "|"):
        return found, False
    found = open_quote(text)
    lines = prose_lines(text)
    if found or text.endswith("```") or not lines:
        return found, False
    prose = long_prose(lines)
    return (open_table(lines) or short_last_item(lines) or bare_title(lines) or open_word(text, lines[-1], prose)
            or open_start(text, lines) or open_repeat(text, lines) or loop(text)), prose
