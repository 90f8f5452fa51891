"""Every reason marco's cleaner can give for rejecting (or flagging) a record: one registry, stable keys.

The cleaner, the CLI (`--strict` stops on validation errors), report.json and report.html all read it, and a
test fails if the code emits a reason that is not listed here.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    key: str  # stable name written in rejected.jsonl and report.json
    meaning: str  # one line a person reads in the report
    validation: bool  # True: the record is not a usable conversation at all (--strict stops on it)


REASONS = {r.key: r for r in [
    Reason("blank_line", "an empty line in a JSON Lines file", True),
    Reason("invalid_json", "not parseable JSON, or nested too deep to write back", True),
    Reason("not_an_object", "a JSON value that is not an object", True),
    Reason("unknown_format", "an object in none of the known formats (messages, ShareGPT, prompt/completion, Alpaca)",
           True),
    Reason("bad_message", "a turn that is not an object with a role and a content", True),
    Reason("unknown_role", "a turn whose role is not system, user or assistant (or a known ShareGPT alias)", True),
    Reason("non_string_content", "a turn whose content is not text", True),
    Reason("non_text_content", "a content part that is not text (image, audio, file): marco trains on text only",
           True),
    Reason("empty_content", "a turn with no visible text (empty, whitespace or control characters only)", True),
    Reason("not_alternating", "turns that do not alternate user/assistant, or a conversation not ending on the "
           "assistant", True),
    Reason("no_assistant_turn", "a conversation with no reply to learn from", True),
    Reason("too_long", "a conversation longer than max_chars", True),
    Reason("exact_duplicate", "the same conversation as a kept one, after normalisation", False),
    Reason("near_duplicate", "nearly the same conversation as a kept one (MinHash, verified Jaccard)", False),
    Reason("template", "an assistant reply built on a template the corpus repeats", False),
    Reason("boilerplate", "an AI disclaimer, refusal or knowledge cut-off note in a reply", False),
    Reason("truncated", "a reply cut off mid-sentence or with unbalanced or dangling markup", False),
    Reason("misaligned", "a reply that answers a different question than its prompt", False),
    Reason("duplicate_prompt", "the whole user side repeats a kept conversation's (option reject_duplicate_prompts)",
           False),
    Reason("probe_overlap", "a user turn that is (nearly) one of the evaluation probes: training on it voids the "
           "comparison", False),
    Reason("reviewer_drop", "a reader dropped it in the Data review tab (its note quoted): --overrides / data_overrides",
           False),
    Reason("reviewer_keep", "a flag: a reader kept it over the filter named in `overruled` (--overrides / "
           "data_overrides)", False),
]}
VALIDATION = frozenset(key for key, r in REASONS.items() if r.validation)


def meaning(key: str) -> str:
    return REASONS[key].meaning
