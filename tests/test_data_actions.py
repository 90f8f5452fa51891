"""Per-filter actions (reject / strip / flag / off), kept records' flags, and the report that shows them."""

import pytest
from conftest import chat

from marco.data import CleaningConfig, run
from marco.data.filters import sentence_span, stripped
from marco.data.findings import Finding
from marco.data.report_html import render

DISCLAIMER = "Come modello di linguaggio, non ho opinioni personali."
REPLIES = ["Roma è la capitale d'Italia, sul Tevere.", "Si dice intelligenza artificiale, femminile.",
           "Il gatto: un gatto, due gatti.", "Andare vuole essere: sono andato.", "Casa è femminile: la casa.",
           "Il plurale di uomo è uomini, irregolare.", "Mangiare: io mangio, tu mangi.", "Buongiorno si usa di mattina."]


@pytest.fixture
def corpus(write_jsonl):
    records = [chat(f"Domanda {i} sulla lingua?", reply, id=i) for i, reply in enumerate(REPLIES)]
    records[0]["messages"][1]["content"] = f"{DISCLAIMER} {REPLIES[0]}"
    records.append(chat("Cosa pensi?", DISCLAIMER, id="only"))  # nothing left once stripped: rejected
    return write_jsonl(records)


def test_reject_is_the_default_and_quotes_the_evidence(corpus):
    result = run(corpus)
    rejected = {r["id"]: r["rejection"] for r in result.rejected}
    assert set(rejected) == {0, "only"} and rejected[0]["reason"] == "boilerplate"
    assert rejected[0]["evidence"] == DISCLAIMER and DISCLAIMER in rejected[0]["detail"]
    assert (rejected[0]["field"], rejected[0]["line"]) == ("messages[1].content", 1)
    assert 1 in {r["id"] for r in result.kept}  # look-alike: "intelligenza artificiale" explained, not a disclaimer


def test_strip_removes_the_sentence_and_says_so_in_flags(corpus):
    result = run(corpus, CleaningConfig(boilerplate="strip"))
    kept = {r["id"]: r for r in result.kept}
    assert kept[0]["messages"][1]["content"] == REPLIES[0]
    assert kept[0]["flags"][0]["reason"] == "boilerplate" and kept[0]["flags"][0]["action"] == "stripped"
    assert [r["id"] for r in result.rejected] == ["only"]
    assert "flags" not in kept[2]
    assert result.report["filters"]["boilerplate"] == {"rejected": 1, "stripped": 1, "flagged": 0, "already_rejected": 0}


def test_flag_keeps_the_text_and_off_does_nothing(corpus):
    flagged = run(corpus, CleaningConfig(boilerplate="flag"))
    kept = {r["id"]: r for r in flagged.kept}
    assert kept[0]["messages"][1]["content"] == f"{DISCLAIMER} {REPLIES[0]}" and kept[0]["flags"][0]["detail"]
    assert flagged.report["counts"]["flagged"] == 2
    off = run(corpus, CleaningConfig(boilerplate="off"))
    assert len(off.kept) == 9 and "boilerplate" not in off.report["filters"]


def test_report_html_shows_examples_highlighted_and_escaped(corpus, write_jsonl):
    html = render(run(corpus, CleaningConfig(boilerplate="flag")).report)
    assert f"<mark>{DISCLAIMER}</mark>" in html and "kept but flagged: boilerplate" in html
    nasty = write_jsonl([chat("<script>alert(1)</script>?", "<b>x</b>", id=1), chat("<script>alert(1)</script>?", "<b>x</b>", id=2)],
                        name="nasty.jsonl")
    html = render(run(nasty).report)
    assert "<script>" not in html and "&lt;script&gt;" in html and "[exact duplicate of 1]" in html


def test_strip_of_a_sentence_in_the_middle():
    text = "Ciao. Come modello di linguaggio non posso. Il resto resta."
    finding = Finding("boilerplate", "d", "messages[1].content", "Come modello di linguaggio non posso.", 6, 43)
    assert sentence_span(text, 6, 43) == (6, 44)
    messages = [{"role": "user", "content": "u"}, {"role": "assistant", "content": text}]
    assert stripped(messages, finding)[1]["content"] == "Ciao. Il resto resta."
    assert messages[1]["content"] == text  # the original is not changed


def test_filters_in_forked_processes_give_the_same_result(corpus, monkeypatch):
    in_process = run(corpus, CleaningConfig(boilerplate="strip"))
    monkeypatch.setattr("marco.data.fork.FORK_MIN", 0)  # the filters (and the writing) in a forked process
    forked = run(corpus, CleaningConfig(boilerplate="strip"))
    assert forked.kept == in_process.kept and forked.rejected == in_process.rejected


@pytest.mark.slow
def test_score_model_reaches_the_alignment_filter_and_reports_ifd(corpus):
    result = run(corpus, CleaningConfig(score_model="marco-tiny", ifd_threshold=50.0))  # tiny model: no real IFD
    scores = result.report["filters"]["misaligned"]["scores"]
    assert scores["count"] == 9 and scores["p10"] <= scores["p50"] <= scores["p90"]


def test_report_collapses_one_templates_variants_into_one_entry(write_jsonl):
    pairs = [("tree", "albero"), ("blue", "blu"), ("bed", "letto"), ("cat", "gatto"), ("dog", "cane"), ("house", "casa")]
    templated = [chat(f"Word {i}?", f'Remember that "{en}" is "{it}" and keep going with your practice.', id=f"t{i}")
                 for i, (en, it) in enumerate(pairs)]
    clean = [chat(f"Domanda {i}?", reply, id=i) for i, reply in enumerate(REPLIES * 3)]
    result = run(write_jsonl(templated + clean), CleaningConfig(near_dup_threshold=1.0))
    groups = result.report["examples"]["templates"]
    assert [g["count"] for g in groups] == [6]  # six variants, one entry
    assert groups[0]["variants"][:2] == ['Remember that "tree" is "albero" and keep going with your practice.',
                                         'Remember that "blue" is "blu" and keep going with your practice.']
    assert "6 rejected" in render(result.report)
