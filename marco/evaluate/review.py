"""Blind human review of base against fine-tuned answers at each checkpoint, its statistics and preference pairs:

    python -m marco review outputs/marco-tiny [--json] [--export-dpo prefs.jsonl [--from judge]]

A pair is one probe of RUN/comparisons/step_N.jsonl shown as answers A and B, the sides drawn at random per pair.
Its id is signed with a secret kept in RUN/.review_key (HMAC-SHA256), so ids survive an app restart and cannot be
guessed or forged (an id of another run fails its key), and the side assignment is derived from the signature: only
the server can tell which answer was the fine-tuned one. Votes are kept by marco.evaluate.votes (RUN/reviews.jsonl,
or a Hub dataset repo for a Space), one per pair id, at most MAX_VOTES_PER_HOUR per reviewer (a pseudonym: the
signed hash of the client's address). "both bad" counts as a tie in the win rate, as Chatbot Arena counts it."""

import base64
import glob
import hashlib
import hmac
import html
import json
import os
import re
import secrets
import sys
import time

from marco.errors import MarcoError
from marco.evaluate.votes import Votes
from marco.stats import wilson, win_rate

CHOICES = ("a", "b", "tie", "both_bad")
KEY_FILE = ".review_key"
MAX_VOTES_PER_HOUR = 120  # per reviewer: a reader weighs two answers per vote; a script stuffing votes is stopped
_STEP_FILE = re.compile(r"step_(\d+)\.jsonl$")


class ReviewError(MarcoError):
    """A bad pair id, choice or run folder: shown to the reviewer as it is."""


def steps(run: str) -> dict:
    """{step: path} of the run's comparison files."""
    found = {}
    for path in glob.glob(os.path.join(run, "comparisons", "step_*.jsonl")):
        match = _STEP_FILE.search(path)
        if match:
            found[int(match.group(1))] = path
    return dict(sorted(found.items()))


def rows(run: str, step: int) -> dict:
    """{probe id: row} of one step's comparison file."""
    path = steps(run).get(step)
    if path is None:
        raise ReviewError(f"{run}: no comparison at step {step} (steps: {', '.join(map(str, steps(run))) or 'none'})")
    with open(path, encoding="utf-8") as handle:
        return {row["id"]: row for row in map(json.loads, filter(str.strip, handle))}


def key(run: str) -> bytes:
    """The run's review secret, created once: written aside, then linked into place, so two app processes
    starting together agree on one and neither ever reads a half-written key."""
    path = os.path.join(run, KEY_FILE)
    if not os.path.exists(path):
        aside = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
        with open(os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(secrets.token_bytes(32))
        try:
            os.link(aside, path)
        except FileExistsError:  # another process was first: use its key
            pass
        finally:
            os.unlink(aside)
    with open(path, "rb") as handle:
        return handle.read()


def _mac(run: str, payload: str) -> bytes:
    return hmac.new(key(run), payload.encode(), hashlib.sha256).digest()


def sign(run: str, step: int, probe_id: str) -> str:
    """A new pair id for (step, probe): the payload with a fresh nonce, then its signature."""
    payload = json.dumps([step, probe_id, secrets.token_hex(8)], separators=(",", ":"))
    return (base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=") + "."
            + base64.urlsafe_b64encode(_mac(run, payload)).decode().rstrip("="))


def open_id(run: str, pair_id: str) -> tuple[int, str, bool]:
    """(step, probe id, fine-tuned shown as A) of a genuine pair id; ReviewError for anything else."""
    try:
        body, signature = pair_id.split(".")
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        mac = _mac(run, payload)
        if not hmac.compare_digest(base64.urlsafe_b64encode(mac).decode().rstrip("="), signature):
            raise ValueError
        step, probe_id, _ = json.loads(payload)
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
        raise ReviewError("unknown pair id: ask for a new pair") from None
    return step, probe_id, bool(mac[-1] & 1)  # the side comes from the signature: invisible without the key


def read_votes(run: str, store: Votes = None) -> list:
    return (store or Votes(run)).read()


def reviewer(run: str, address: str) -> str:
    """A reviewer's pseudonym: the client's address, signed and cut, so votes can be counted per reviewer without
    keeping the address."""
    return base64.urlsafe_b64encode(_mac(run, f"reviewer:{address}")).decode()[:12]


def pair(run: str, step: int = None, store: Votes = None) -> dict:
    """{"pair_id", "step", "question", "a", "b"} for the probe with the fewest votes at `step` (default: latest)."""
    known = steps(run)
    if not known:
        raise ReviewError(f"{run}: no comparisons/step_*.jsonl to review")
    step = max(known) if step is None else int(step)
    candidates = rows(run, step)
    counts = {probe_id: 0 for probe_id in candidates}
    for vote in read_votes(run, store):
        if vote["step"] == step and vote["id"] in counts:
            counts[vote["id"]] += 1
    fewest = min(counts.values())
    probe_id = secrets.choice([p for p, c in counts.items() if c == fewest])
    pair_id = sign(run, step, probe_id)
    row, tuned_first = candidates[probe_id], open_id(run, pair_id)[2]
    a, b = (row["fine_tuned"], row["base"]) if tuned_first else (row["base"], row["fine_tuned"])
    return {"pair_id": pair_id, "step": step, "question": row["question"], "a": a, "b": b}


def vote(run: str, pair_id: str, choice: str, comment: str = "", store: Votes = None, by: str = "") -> dict:
    """Record one vote, once per pair id and at most MAX_VOTES_PER_HOUR per reviewer `by`; {"recorded": True,
    "votes": N} with N the votes kept."""
    if choice not in CHOICES:
        raise ReviewError(f"choice must be one of {', '.join(CHOICES)}, not {choice!r}")
    step, probe_id, tuned_first = open_id(run, pair_id)
    rows(run, step)  # the step must still exist
    side = {"a": "fine_tuned" if tuned_first else "base", "b": "base" if tuned_first else "fine_tuned"}
    now = time.time()

    def within_the_hourly_cap(earlier: list) -> None:
        if by and sum(v.get("reviewer") == by and v["time"] > now - 3600 for v in earlier) >= MAX_VOTES_PER_HOUR:
            raise ReviewError(f"{MAX_VOTES_PER_HOUR} votes in the last hour from this reviewer: come back later")

    record = {"step": step, "id": probe_id, "winner": side.get(choice, choice), "time": now,
              "comment": (comment or "").strip()[:2000], "pair_id": pair_id, "reviewer": by}
    count = (store or Votes(run)).append(record, within_the_hourly_cap)
    if not count:
        raise ReviewError("this pair already has a vote: ask for a new pair")
    return {"recorded": True, "votes": count}


def summary(run: str, store: Votes = None) -> list:
    """Per reviewed step: fine_tuned_wins, base_wins, ties, both_bad, n, win_rate and its Wilson 95% interval."""
    by_step = {}
    for record in read_votes(run, store):
        by_step.setdefault(record["step"], []).append(record["winner"])
    result = []
    for step, winners in sorted(by_step.items()):
        count = {w: winners.count(w) for w in ("fine_tuned", "base", "tie", "both_bad")}
        even = count["tie"] + count["both_bad"]
        result.append({"step": step, "fine_tuned_wins": count["fine_tuned"], "base_wins": count["base"],
                       "ties": count["tie"], "both_bad": count["both_bad"], "n": len(winners),
                       "win_rate": win_rate(count["fine_tuned"], even, len(winners)),
                       "ci95": list(wilson(count["fine_tuned"] + even / 2, len(winners)))})
    return result


def latest(run: str, store: Votes = None):
    """The summary of the latest reviewed step (what the gate and the card use), or None."""
    reviewed = summary(run, store)
    return reviewed[-1] if reviewed else None


def sentence(reviewed: dict) -> str:
    """One reviewed step in words, as the model card says it."""
    low, high = reviewed["ci95"]
    return (f"blind human review: {reviewed['fine_tuned_wins']} of {reviewed['n']} votes for the fine-tuned model at "
            f"step {reviewed['step']} ({reviewed['base_wins']} for the base, {reviewed['ties']} ties, "
            f"{reviewed['both_bad']} both bad); win rate {reviewed['win_rate']:.2f}, 95% Wilson interval "
            f"{low:.2f}-{high:.2f} (ties and both bad count half)")


def human_preferences(run: str, store: Votes = None) -> tuple[list, dict]:
    """(question, chosen, rejected) per decisive vote, and the votes skipped by kind."""
    pairs, skipped, texts = [], {"tie": 0, "both_bad": 0}, {}
    for record in read_votes(run, store):
        if record["winner"] in skipped:
            skipped[record["winner"]] += 1
            continue
        row = texts.setdefault(record["step"], rows(run, record["step"]))[record["id"]]
        loser = "base" if record["winner"] == "fine_tuned" else "fine_tuned"
        pairs.append((row["question"], row[record["winner"]], row[loser]))
    return pairs, skipped


def judge_preferences(source: str) -> tuple[list, dict]:
    """The same from judge verdicts: a judge result file (the JSON `marco eval --answers --out` writes, its
    "judge_verdicts"), or a run whose comparisons/step_*.jsonl rows carry a "judge" field ({"winner", ...})."""
    if os.path.isfile(source):
        with open(source, encoding="utf-8") as handle:
            verdicts = json.load(handle).get("judge_verdicts") or []
    else:
        verdicts = [{**row, "winner": row["judge"]["winner"]} for step in steps(source)
                    for row in rows(source, step).values() if row.get("judge")]
    pairs, skipped = [], {"tie": 0, "unparseable": 0}
    for v in verdicts:
        if v["winner"] in skipped:
            skipped[v["winner"]] += 1
        else:
            pairs.append((v["question"], v[v["winner"]], v["base" if v["winner"] == "fine_tuned" else "fine_tuned"]))
    return pairs, skipped


def write_dpo(pairs: list, path: str) -> None:
    """TRL's conversational preference format: {"prompt": [user], "chosen": [assistant], "rejected": [assistant]}."""
    with open(path, "w", encoding="utf-8") as handle:
        for question, chosen, rejected in pairs:
            handle.write(json.dumps({"prompt": [{"role": "user", "content": question}],
                                     "chosen": [{"role": "assistant", "content": chosen}],
                                     "rejected": [{"role": "assistant", "content": rejected}]}, ensure_ascii=False) + "\n")


def table(reviewed: list) -> str:
    lines = [f"{'step':>8}{'fine-tuned':>12}{'base':>6}{'ties':>6}{'both bad':>10}{'n':>5}{'win rate':>10}  95% CI"]
    lines += [f"{s['step']:>8}{s['fine_tuned_wins']:>12}{s['base_wins']:>6}{s['ties']:>6}{s['both_bad']:>10}{s['n']:>5}"
              f"{s['win_rate']:>10.2f}  {s['ci95'][0]:.2f}-{s['ci95'][1]:.2f}" for s in reviewed]
    return "\n".join(lines)


def command(argv: list) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m marco review", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="the run folder (output_dir); with --from judge also a judge result file")
    parser.add_argument("--json", action="store_true", help='print {"steps": [...]} instead of a table')
    parser.add_argument("--export-dpo", metavar="FILE", help="write decisive verdicts as TRL preference pairs")
    parser.add_argument("--from", dest="source", choices=["human", "judge"], default="human",
                        help="the verdicts to export: blind review votes (default) or the judge's")
    parser.add_argument("--votes-repo", metavar="USER/NAME", help="also the votes a Space kept in this Hub dataset "
                        "repo (`marco space --votes-repo`); the token from HF_TOKEN or `hf auth login`")
    args = parser.parse_args(argv)
    if not os.path.exists(args.run):
        print(f"error: {args.run}: no such run folder", file=sys.stderr)
        return 2
    judge_file = args.export_dpo and args.source == "judge" and os.path.isfile(args.run)
    if not judge_file and not os.path.isdir(os.path.join(args.run, "comparisons")):
        print(f"error: {args.run}: not a marco run (no comparisons/ folder: train.py writes one)", file=sys.stderr)
        return 2
    try:
        store = Votes(args.run, args.votes_repo, writer=False) if args.votes_repo else None
        if args.export_dpo:
            pairs, skipped = (judge_preferences(args.run) if args.source == "judge"
                              else human_preferences(args.run, store))
            if args.source == "judge" and not pairs and not any(skipped.values()):
                raise MarcoError(f"{args.run}: no judge verdicts to export (a run judged with judge_model, or the "
                                 "JSON of `marco eval --answers --out`)")
            write_dpo(pairs, args.export_dpo)
            print(f"wrote {len(pairs)} preference pairs to {args.export_dpo}; skipped "
                  + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in skipped.items()))
            return 0
        reviewed = summary(args.run, store)
    except (MarcoError, KeyError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"steps": reviewed}) if args.json else table(reviewed) if reviewed else "no votes yet")
    return 0


def client_address(request) -> str:
    """The voter's address: the first X-Forwarded-For hop behind a proxy (a Space), else the socket's."""
    forwarded = (request.headers.get("x-forwarded-for") or "").split(",")[0].strip() if request else ""
    return forwarded or (request.client.host if request and request.client else "")


def review_tab(run: str, store: Votes = None) -> None:
    """The "Blind review" tab's components and its API (`/review_pair`, `/review_vote`), inside the caller's
    gr.Blocks: a checkpoint picker, one question with answers A and B, four vote buttons and a comment."""
    import gradio as gr

    store = store or Votes(run)

    def review_pair(step: int | None = None) -> dict:
        try:
            return pair(run, step, store)
        except ReviewError as error:
            raise gr.Error(str(error)) from None

    def review_vote(pair_id: str, choice: str, comment: str = "", request: gr.Request = None) -> dict:
        try:
            return vote(run, pair_id, choice, comment, store, by=reviewer(run, client_address(request)))
        except ReviewError as error:
            raise gr.Error(str(error)) from None

    gr.api(review_pair, api_name="review_pair")
    gr.api(review_vote, api_name="review_vote")
    known = list(steps(run))
    step = gr.Dropdown(known, value=known[-1] if known else None, label="Checkpoint (step)")
    current = gr.State({})
    question = gr.Markdown(elem_id="review-question")
    with gr.Row():
        a = gr.Textbox(label="Answer A", lines=8, interactive=False, elem_id="review-a")
        b = gr.Textbox(label="Answer B", lines=8, interactive=False, elem_id="review-b")
    comment = gr.Textbox(label="Comment (optional)", elem_id="review-comment")
    with gr.Row():
        buttons = {c: gr.Button(label, elem_id=f"review-{c}")
                   for c, label in zip(CHOICES, ("A is better", "B is better", "Tie", "Both bad"))}
    status = gr.Markdown(elem_id="review-status")

    def show(chosen_step):
        shown = review_pair(chosen_step)
        return shown, f"**Question:** {html.escape(shown['question'])}", shown["a"], shown["b"], ""  # text, not markup

    def caster(choice):
        def cast(shown, note, chosen_step, request: gr.Request):  # gradio passes the request by this annotation
            result = review_vote(shown.get("pair_id", ""), choice, note, request)
            return (*show(chosen_step), f"Recorded: {result['votes']} votes so far. Here is the next pair.")
        return cast

    outputs = [current, question, a, b, comment]
    gr.on(None, show, step, outputs, api_visibility="private")  # on page load and on a new checkpoint
    for choice, button in buttons.items():
        button.click(caster(choice), [current, comment, step], [*outputs, status], api_visibility="private")
