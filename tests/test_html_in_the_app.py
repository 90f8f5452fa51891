"""HTML that reaches the app must not run in a reader's browser, in headless Chromium: a probe's question and answers
in the Blind review tab are shown as text; a model's reply in the chat columns (here from an OpenAI-compatible
server) is markdown through gradio's sanitizer, which removes scripts and event handlers (it keeps standard tags)."""

import json
import os

import pytest
from conftest import browsing
from stream_server import StreamServer

from marco.serve import demo, remote

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ATTACKS = ['<img src=x id=injected onerror="document.title=\'pwned\'">', "<script>document.title='pwned'</script>"]


@pytest.mark.slow(seconds=20)
def test_html_in_replies_and_probes_is_shown_as_text(tmp_path):
    from playwright.sync_api import expect

    run = tmp_path / "run"
    (run / "comparisons").mkdir(parents=True)
    row = {"id": "p1", "question": f"Question {ATTACKS[0]}?", "base": f"base {ATTACKS[1]}", "fine_tuned": f"tuned {ATTACKS[0]}"}
    (run / "comparisons" / "step_000004.jsonl").write_text(json.dumps(row) + "\n")
    with StreamServer(words=["Reply ", *ATTACKS, " end"]) as backend, browsing(demo.build(
            remote.RemoteChat(backend.url, "base", "tuned").check(), review_run=str(run))) as page:
        page.locator("#message textarea").fill("Ciao?")
        page.locator("#message textarea").press("Enter")
        for column in ("#base-chat", "#tuned-chat"):
            expect(page.locator(f'{column} [data-testid="bot"]')).to_contain_text("end", timeout=30_000)
        page.get_by_role("tab", name="Blind review").click()
        expect(page.locator("#review-question")).to_contain_text("Question")
        answers = {page.locator(f"#review-{side} textarea").input_value() for side in ("a", "b")}
        assert answers == {row["base"], row["fine_tuned"]}  # the answers as written, character for character
        expect(page.locator("#review-question")).to_contain_text(ATTACKS[0])  # the characters themselves
        page.wait_for_timeout(500)
        assert page.title() != "pwned" and page.locator("#review-question #injected").count() == 0
        assert page.locator("script", has_text="pwned").count() == 0 and page.locator("[onerror]").count() == 0
