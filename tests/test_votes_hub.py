"""Blind votes kept in a Hub dataset repo (marco.evaluate.votes), on the loopback Hub: a vote cast while a commit is in
flight, a restart on a fresh disk, `marco review --votes-repo`, and a Space folder's own app.py stopped and started
again as a Space restarts it."""

import json
import os
import shutil
import signal
import sys
import time

import pytest
from conftest import free_port, started
from fake_hub import FakeHub
from test_review import choice_for, write_run

from marco.cli import main
from marco.errors import MarcoError
from marco.evaluate import review, votes

REPO_ID, TOKEN = "someone/tutor-votes", "hf_votes_secret"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    with FakeHub(str(tmp_path / "server")) as server:
        server.use(monkeypatch, TOKEN)
        yield server


def committed(hub) -> list:
    """Every vote the repo holds, as the Hub has it, oldest first (the shards' names are random)."""
    folder = os.path.join(hub.repo_path("dataset", REPO_ID), votes.REPO_FOLDER)
    records = [record for name in os.listdir(folder) for record in votes.read_jsonl(os.path.join(folder, name))]
    return sorted(records, key=lambda record: record["time"])


def cast(run, store, winner="fine_tuned") -> str:
    shown = review.pair(run, store=store)
    review.vote(run, shown["pair_id"], choice_for(shown, winner), store=store, by="reviewer-1")
    return shown["pair_id"]


def test_a_vote_cast_during_a_commit_goes_with_the_next_and_a_restart_on_a_fresh_disk_keeps_all(hub, tmp_path):
    run = write_run(tmp_path / "run")
    store = votes.Votes(run, REPO_ID, every=60)
    try:
        first = [cast(run, store) for _ in range(2)]
        hub.commit_gate.clear()  # the next commit hangs on the wire
        in_flight = store.scheduler.trigger()
        while not any("/preupload/" in r["path"] for r in hub.requests):
            time.sleep(0.01)
        during = cast(run, store, "base")  # the scheduler has listed its files: this line is past its size limit
        hub.commit_gate.set()
        in_flight.result()
        assert [v["pair_id"] for v in committed(hub)] == first  # whole lines only, the late vote not half-sent
        store.commit()
        assert [v["pair_id"] for v in committed(hub)] == first + [during]
    finally:
        store.close()
    assert hub.repos["dataset", REPO_ID]["private"]

    fresh = write_run(tmp_path / "restarted")  # a Space's new disk: no votes, no key, no outbox
    restarted = votes.Votes(fresh, REPO_ID, every=60)
    try:
        assert [v["pair_id"] for v in restarted.read()] == first + [during]
        with pytest.raises(review.ReviewError, match="unknown pair id"):  # an id of the old process's key
            review.vote(fresh, during, "a", store=restarted)
        cast(fresh, restarted)
        assert [s["n"] for s in review.summary(fresh, restarted)] == [4]
    finally:
        restarted.close()
    ids = [v["pair_id"] for v in committed(hub)]
    assert len(ids) == 4 and len(set(ids)) == 4


def test_marco_review_reads_the_votes_repo(hub, tmp_path, capsys):
    run = write_run(tmp_path / "space-run")
    store = votes.Votes(run, REPO_ID, every=60)
    for winner in ("fine_tuned", "fine_tuned", "base"):
        cast(run, store, winner)
    store.close()
    laptop = write_run(tmp_path / "laptop-run")  # the same run's comparisons, none of the Space's files
    assert main(["review", laptop, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"steps": []}
    assert main(["review", laptop, "--json", "--votes-repo", REPO_ID]) == 0
    reviewed = json.loads(capsys.readouterr().out)["steps"]
    assert [(s["fine_tuned_wins"], s["base_wins"]) for s in reviewed] == [(2, 1)]
    assert main(["review", laptop, "--votes-repo", "someone/no-such-votes"]) == 2
    assert "could not read the votes in the Hub dataset someone/no-such-votes" in capsys.readouterr().err


def test_a_reviewer_who_stuffs_votes_is_stopped(tmp_path, monkeypatch):
    run = write_run(tmp_path / "run")
    monkeypatch.setattr(review, "MAX_VOTES_PER_HOUR", 3)
    for _ in range(3):
        shown = review.pair(run)
        review.vote(run, shown["pair_id"], "a", by="stuffer")
    shown = review.pair(run)
    with pytest.raises(review.ReviewError, match="3 votes in the last hour from this reviewer"):
        review.vote(run, shown["pair_id"], "a", by="stuffer")
    assert review.vote(run, shown["pair_id"], "a", by="someone-else")["votes"] == 4
    assert review.reviewer(run, "10.0.0.1") == review.reviewer(run, "10.0.0.1") != review.reviewer(run, "10.0.0.2")
    assert "10.0.0.1" not in review.reviewer(run, "10.0.0.1")


def test_cross_run_and_replayed_ids_are_refused(tmp_path):
    run, other = write_run(tmp_path / "run"), write_run(tmp_path / "other")
    shown = review.pair(other)
    with pytest.raises(review.ReviewError, match="unknown pair id"):
        review.vote(run, shown["pair_id"], "a")
    review.vote(other, shown["pair_id"], "a")
    with pytest.raises(review.ReviewError, match="already has a vote"):
        review.vote(other, shown["pair_id"], "b")
    assert len(review.read_votes(other)) == 1 and review.read_votes(run) == []


def test_a_vote_line_cut_short_by_a_kill_is_not_read(tmp_path):
    run = write_run(tmp_path / "run")
    shown = review.pair(run)
    review.vote(run, shown["pair_id"], "a")
    with open(os.path.join(run, votes.VOTES_FILE), "a") as handle:
        handle.write('{"step": 40, "id": "probe-1", "win')  # the process died mid-write
    assert len(review.read_votes(run)) == 1


@pytest.mark.slow(seconds=45)
def test_a_space_restart_keeps_every_vote(hub, trained_tiny_run, tmp_path, capsys):
    """The Space folder `marco space --votes-repo` writes, its own app.py run as a Space runs it (the adapter from
    MARCO_ADAPTER: a local copy, since the loopback Hub serves no model weights), votes through the API, SIGTERM
    (a Space restarting), a fresh copy of the folder started again."""
    run = str(tmp_path / "run")
    shutil.copytree(trained_tiny_run, run, ignore=shutil.ignore_patterns("checkpoint-*"))
    space = str(tmp_path / "space")
    assert main(["space", run, "--repo-id", "someone/tutor", "--votes-repo", REPO_ID, "--out", space]) == 0
    assert capsys.readouterr().out == f"wrote {space}\n"
    assert sorted(os.listdir(os.path.join(space, "review"))) == ["comparisons"]  # no key, no votes from the run
    assert f"votes_repo={REPO_ID!r}" in open(os.path.join(space, "app.py")).read()
    env = {**os.environ, "MARCO_ADAPTER": run, "HF_ENDPOINT": hub.endpoint, "HF_TOKEN": TOKEN, "HF_HUB_OFFLINE": "0"}

    def votes_through_the_api(folder: str, count: int) -> list:
        port = free_port()
        with started([sys.executable, "app.py"], port, cwd=folder, env={**env, "GRADIO_SERVER_PORT": str(port)}) as client:
            ids = []
            for _ in range(count):
                shown = client.predict(None, api_name="/review_pair")
                client.predict(shown["pair_id"], "tie", "", api_name="/review_vote")
                ids.append(shown["pair_id"])
            client.process.send_signal(signal.SIGTERM)  # what a Space gets before its container goes
            assert client.process.wait(timeout=60) == 0, client.process.stderr.read()
        return ids

    before = votes_through_the_api(space, 3)
    assert [v["pair_id"] for v in committed(hub)] == before
    again = str(tmp_path / "space-restarted")
    shutil.copytree(space, again, ignore=shutil.ignore_patterns(".votes", ".review_key"))
    after = votes_through_the_api(again, 2)
    assert [v["pair_id"] for v in committed(hub)] == before + after
    assert main(["review", run, "--json", "--votes-repo", REPO_ID]) == 0
    assert [s["ties"] for s in json.loads(capsys.readouterr().out)["steps"]] == [5]


def test_votes_repo_without_comparisons_is_a_clear_error(tmp_path):
    from marco.publish.space import prepare_space

    run = tmp_path / "run"
    run.mkdir()
    (run / "marco_report.json").write_text(json.dumps({"base_model": "marco-tiny", "method": "lora"}))
    with pytest.raises(MarcoError, match="has no comparisons/ to review"):
        prepare_space(str(run), "a/b", str(tmp_path / "space"), votes_repo=REPO_ID)
