"""The app's "Data review" tab (`python app.py --data-review DIR`): a reader pages through a cleaning's verdicts, one
record at a time, grouped by reason (marco.data.verdicts), reads the conversation with the filter's evidence marked,
and marks it Keep or Drop with a note. Each decision is one line appended under a file lock to DIR/overrides.jsonl
(marco.evaluate.votes' locking), which `python -m marco data clean FILE --out DIR --overrides DIR/overrides.jsonl`
and train.py's `data_overrides` apply (marco.data.overrides). The reviewer is a pseudonym, as in the Blind review.
Everything from the data is shown as text: escaped before it reaches the page."""

import os
import time
from html import escape

from marco.data import overrides
from marco.data.load import UnusableInput
from marco.data.report_html import highlighted
from marco.data.verdicts import Verdicts
from marco.evaluate.review import client_address, reviewer
from marco.evaluate.votes import locked, write_line

_MESSAGE_FIELD = "messages[{}].content"
_STYLE = ("<style>#data-review-conversation pre{white-space:pre-wrap;margin:.2em 0 .8em;padding:.4em;"
          "background:var(--background-fill-secondary)}#data-review-conversation mark{background:#ffd54a;color:#000}"
          "</style>")


def conversation_html(shown: dict) -> str:
    """The record as HTML: each turn escaped, the evidence of a finding on it marked; a line that is no conversation
    as its text."""
    if shown["messages"] is None:
        return f"{_STYLE}<pre>{escape(shown['raw'])}</pre>"
    marks = {f.get("field"): f.get("evidence") for f in shown["findings"] if f.get("evidence")}
    turns = [f"<b>{escape(m['role'])}</b><pre>{highlighted(m['content'], marks.get(_MESSAGE_FIELD.format(i)))}</pre>"
             for i, m in enumerate(shown["messages"])]
    return _STYLE + "".join(turns)


def header(shown: dict, decision: dict | None) -> str:
    """Markdown: which record, the cleaner's verdict and why, and the reader's decision so far; data escaped."""
    where = (f"**{shown['index'] + 1} of {shown['total']}** in {escape(shown['group'])} · id {escape(str(shown['id']))} "
             f"· line {shown['line']} · verdict: {escape(', '.join(shown['verdicts']))}")
    findings = [f"- **{escape(f['reason'])}**: {escape(f.get('detail', ''))}" for f in shown["findings"]]
    lines = [where, *(findings or ["- kept: no filter found anything"])]
    if decision:
        note = f" ({escape(decision['note'])})" if decision.get("note") else ""
        lines.append(f"\n**Last decision on it: {decision['decision']}**{note}")
    return "\n".join(lines)


def data_review_tab(verdicts: Verdicts) -> None:
    """The tab's components and its API (`/data_review_record`, `/data_review_mark`), inside the caller's gr.Blocks,
    over a cleaning's output folder or a training run's (its data/ folder is read, and the decisions go there)."""
    import gradio as gr

    decisions_file = os.path.join(verdicts.folder, overrides.OVERRIDES_FILE)

    def decided() -> dict:
        return overrides.read(decisions_file) if os.path.exists(decisions_file) else {}

    def data_review_record(group: str, index: int = 0) -> dict:
        """The record at `index` (from 0) of a group (a rejection reason, "REASON (flagged)" or "kept (random
        sample)"), with "decision": the reader's last one on it, or None."""
        try:
            shown = verdicts.record(group, int(index))
            return {**shown, "decision": decided().get(shown["id"])}
        except UnusableInput as error:
            raise gr.Error(str(error)) from None

    def data_review_mark(group: str, index: int, decision: str, note: str = "", request: gr.Request = None) -> dict:
        """Record the reader's decision, "keep" or "drop", on that record: one line of DIR/overrides.jsonl."""
        shown = data_review_record(group, index)
        if decision not in overrides.DECISIONS:
            raise gr.Error(f"decision must be one of {', '.join(overrides.DECISIONS)}, got {decision!r}")
        verdict = shown["verdicts"][0]
        if decision == "keep" and verdict in overrides.NOT_KEPT_BY_A_READER:
            raise gr.Error(f"{verdict}: {overrides.NOT_KEPT_WHY}")
        record = {"id": shown["id"], "decision": decision, "note": (note or "").strip(),
                  "reviewer": reviewer(verdicts.path, client_address(request)), "time": round(time.time(), 3)}
        with locked(decisions_file) as handle:
            write_line(handle, record)
        return {"recorded": True, **record}

    gr.api(data_review_record, api_name="data_review_record")
    gr.api(data_review_mark, api_name="data_review_mark")
    choices = verdicts.choices()
    gr.Markdown(f"Verdicts of `{escape(verdicts.folder)}`; decisions go to `{escape(decisions_file)}`, applied by "
                "`python -m marco data clean FILE --out DIR --overrides DIR/overrides.jsonl`.")
    group = gr.Dropdown(choices, value=choices[0][1] if choices else None, label="Verdict (records)",
                        elem_id="data-review-group")
    index = gr.State(0)
    about = gr.Markdown(elem_id="data-review-header")
    shown_html = gr.HTML(elem_id="data-review-conversation")
    note = gr.Textbox(label="Note (optional)", elem_id="data-review-note")
    with gr.Row():
        previous = gr.Button("Previous", elem_id="data-review-previous")
        keep = gr.Button("Keep", variant="primary", elem_id="data-review-keep")
        drop = gr.Button("Drop", variant="stop", elem_id="data-review-drop")
        following = gr.Button("Next", elem_id="data-review-next")
    status = gr.Markdown(elem_id="data-review-status")

    def show(chosen, at):
        if not chosen:
            return 0, "Nothing to review: no rejected, flagged or kept records.", "", ""
        total = len(verdicts.groups[chosen])
        at = min(max(int(at), 0), total - 1)
        shown = data_review_record(chosen, at)
        return at, header(shown, shown["decision"]), conversation_html(shown), ""

    def marker(decision):
        def mark(chosen, at, text, request: gr.Request):  # gradio passes the request by this annotation
            result = data_review_mark(chosen, at, decision, text, request)
            return (*show(chosen, at + 1), f"Recorded: {escape(str(result['id']))} {decision}.")
        return mark

    outputs = [index, about, shown_html, note]
    gr.on(None, lambda chosen: show(chosen, 0), group, outputs, api_visibility="private")  # on load, on a new group
    previous.click(lambda chosen, at: show(chosen, at - 1), [group, index], outputs, api_visibility="private")
    following.click(lambda chosen, at: show(chosen, at + 1), [group, index], outputs, api_visibility="private")
    for decision, button in (("keep", keep), ("drop", drop)):
        button.click(marker(decision), [group, index, note], [*outputs, status], api_visibility="private")
