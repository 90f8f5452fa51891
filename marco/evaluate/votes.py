"""Where a run's blind votes are kept: RUN/reviews.jsonl, and with a Hub dataset repo (`--votes-repo USER/NAME`) also
there, so that votes cast on a Space, whose disk is lost at every restart, survive it.

With a repo, each app process appends to a shard of its own, RUN/.votes/outbox/<random>.jsonl, which huggingface_hub's
CommitScheduler commits to the repo's votes/ folder every minute and once more when the process exits (SIGTERM
included). A commit sends only the bytes written before it started, and a vote is written under the scheduler's lock,
so a vote cast while a commit is in flight goes whole with the next one. At start the repo's shards are downloaded into
RUN/.votes/pulled/; reading joins every file, one record per pair id."""

import fcntl
import glob
import json
import os
import secrets
from contextlib import contextmanager, nullcontext

from marco.errors import MarcoError

VOTES_FILE = "reviews.jsonl"
COMMIT_EVERY = 1.0  # minutes between the scheduler's commits: a Space restarted without warning loses at most this much
REPO_FOLDER = "votes"


def read_jsonl(path: str) -> list:
    """The records of a JSONL file; a last line cut short (a process killed mid-write) is not a record."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.endswith("\n") and line.strip():
                records.append(json.loads(line))
    return records


@contextmanager
def locked(path: str):
    """`path` open for appending under an exclusive lock (flock): one writer at a time, across processes on one disk."""
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield handle


def write_line(handle, record: dict) -> None:
    """One JSON line, on disk before the lock is let go."""
    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


class Votes:
    """The run's votes, local or backed by a Hub dataset repo; `append` keeps one vote per pair id."""

    def __init__(self, run: str, repo_id: str = None, writer: bool = True, every: float = COMMIT_EVERY):
        self.run, self.repo_id, self.scheduler = run, repo_id, None
        self.path = os.path.join(run, VOTES_FILE)
        if repo_id is None:
            return
        self.pulled = os.path.join(run, ".votes", "pulled")
        if writer:
            from huggingface_hub import CommitScheduler

            outbox = os.path.join(run, ".votes", "outbox")
            self.scheduler = CommitScheduler(repo_id=repo_id, repo_type="dataset", folder_path=outbox, every=every,
                                             path_in_repo=REPO_FOLDER, private=True, allow_patterns="*.jsonl")
            self.path = os.path.join(outbox, f"{secrets.token_hex(8)}.jsonl")
        self.pull()  # after the scheduler's create_repo: a new repo is an empty one

    def pull(self) -> None:
        """Download the repo's vote shards; a repo that cannot be read is an error, not an empty one."""
        from huggingface_hub import HfApi, snapshot_download

        try:
            head = HfApi().repo_info(self.repo_id, repo_type="dataset").sha  # snapshot_download alone falls back quietly
            snapshot_download(self.repo_id, repo_type="dataset", revision=head, allow_patterns=f"{REPO_FOLDER}/*.jsonl",
                              local_dir=self.pulled)
        except Exception as error:  # huggingface_hub's errors for a missing repo, a token without access, no network
            raise MarcoError(f"could not read the votes in the Hub dataset {self.repo_id} ({type(error).__name__}: "
                             f"{str(error).splitlines()[0]}): check the name and that HF_TOKEN can read it") from None

    def files(self) -> list:
        shards = [os.path.join(self.run, VOTES_FILE)]
        if self.repo_id:
            shards += sorted(glob.glob(os.path.join(self.pulled, REPO_FOLDER, "*.jsonl")))
            shards += sorted(glob.glob(os.path.join(self.run, ".votes", "outbox", "*.jsonl")))
        return [path for path in dict.fromkeys(shards) if os.path.exists(path)]

    def read(self) -> list:
        """Every vote once, oldest first: a shard both pulled and still in the outbox is the same votes."""
        seen, votes = set(), []
        for path in self.files():
            for record in read_jsonl(path):
                if record["pair_id"] not in seen:
                    seen.add(record["pair_id"])
                    votes.append(record)
        return sorted(votes, key=lambda record: record["time"])

    def append(self, record: dict, check=None) -> int:
        """Write one vote unless its pair id has one (then 0), after `check(earlier votes)`, which raises to refuse;
        the number of votes, this one included. The votes are read once, under the file lock, which keeps two
        processes on one disk apart, and the scheduler's, which keeps a commit from sending half a line."""
        with (self.scheduler.lock if self.scheduler else nullcontext()), locked(self.path) as handle:
            earlier = self.read()
            if any(vote["pair_id"] == record["pair_id"] for vote in earlier):
                return 0
            if check:
                check(earlier)
            write_line(handle, record)
        return len(earlier) + 1

    def commit(self) -> None:
        """Commit the shard now and wait for it."""
        if self.scheduler:
            self.scheduler.trigger().result()

    def close(self) -> None:
        """The last commit, then no more (the process exiting does the same through atexit)."""
        if self.scheduler:
            self.commit()
            self.scheduler.stop()
