"""A Hugging Face Space folder for a finished run: app.py (defaulting to the pushed adapter and its base), the marco
package, the probe questions and requirements.txt, with the README front matter Spaces read. A base above 1B parameters
gets a ZeroGPU Space (a GPU attached while a reply is generated; a CPU Space could not answer); the built-in models get
a CPU Space. With a votes repo the Space also gets the run's comparisons and the Blind review tab, whose votes are
committed to that private Hub dataset (a Space's own disk is lost at every restart). Uploading is hub.py's job."""

import os
import shutil
import sys

from marco import tiny
from marco.errors import MarcoError
from marco.publish.report import RunReport

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MARKER = "Written by `python -m marco space`"
NOT_IN_SPACE = {"gradio", "gradio_client", "playwright", "pytest", "pytest-xdist", "pytest-timeout", "tensorboard",
                "datasketch", "rensa", "datatrove", "ray"}  # sdk, dev or cluster data cleaning only
CPU, ZERO_GPU = "cpu-basic", "zero-a10g"  # Spaces' hardware names
GPU_ABOVE = 1_000_000_000  # parameters: a larger base cannot answer on a CPU Space
GPU_SECONDS = 120  # ZeroGPU's budget per reply: 512 new tokens of a 7B model, both columns


def hardware(report: RunReport, requested: str = "auto") -> str:
    """The Space's hardware: as requested, else ZeroGPU for a base above GPU_ABOVE parameters (a run that did not
    record its base's size gets a CPU Space: pass --hardware zero-a10g)."""
    if requested != "auto":
        return requested
    return ZERO_GPU if (report.base_parameters or 0) > GPU_ABOVE else CPU


def requirements(zero_gpu: bool) -> str:
    """requirements.txt's pins, less gradio (the Space's sdk_version installs it) and test and benchmark tools;
    `spaces` (ZeroGPU's decorator) only on ZeroGPU."""
    with open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8") as handle:
        lines = [line.split("#")[0].strip() for line in handle]
    skip = NOT_IN_SPACE | (set() if zero_gpu else {"spaces"})
    return "".join(f"{line}\n" for line in lines if line and line.split("==")[0] not in skip)


REVIEW_FOLDER = "review"  # in the Space: the run's comparisons, reviewed blind


def app_source(repo_id: str, base: str, zero_gpu: bool, votes_repo: str = None) -> str:
    """The Space's app.py: marco's app, with this Space's adapter and base as its defaults; on ZeroGPU the replies are
    generated under `@spaces.GPU` (which does nothing off ZeroGPU, so the folder also runs on a laptop)."""
    head = f"# {MARKER}: marco's app with the pushed adapter and its base (Space variables MARCO_ADAPTER, MARCO_MODEL win).\n"
    options = f"adapter={repo_id!r}, model={base!r}"
    if votes_repo:
        options += f", votes_repo={votes_repo!r}, review_run={REVIEW_FOLDER!r}"
    if not zero_gpu:
        return head + f"from marco.serve.demo import main\n\nraise SystemExit(main({options}))\n"
    return (head + "import spaces  # first: ZeroGPU patches torch before marco imports it\n\nfrom marco.serve.demo import main\n\n"
            f"raise SystemExit(main({options}, gpu=spaces.GPU(duration={GPU_SECONDS})))\n")


def written_by_marco(folder: str) -> bool:
    """Only a folder this module wrote is replaced: --out must never delete someone's work."""
    app = os.path.join(folder, "app.py")
    if not os.path.isfile(app):
        return False
    with open(app, encoding="utf-8") as handle:
        return MARKER in handle.read()


def card(repo_id: str, base: str, space_hardware: str, votes_repo: str = None) -> str:
    import gradio
    from huggingface_hub import SpaceCardData

    hub_models = [repo_id] + ([base] if tiny.resolve(base) == base else [])
    gpu = {"suggested_hardware": ZERO_GPU, "preload_from_hub": hub_models} if space_hardware == ZERO_GPU else {
        "suggested_hardware": space_hardware}  # preload: the weights are downloaded when the Space is built, not per start
    data = SpaceCardData(title=repo_id.split("/")[-1][:30], sdk="gradio", sdk_version=gradio.__version__,
                         python_version=f"{sys.version_info.major}.{sys.version_info.minor}", app_file="app.py",
                         models=hub_models, emoji="🇮🇹", colorFrom="green", colorTo="red", pinned=False,
                         short_description="The base and the fine-tuned tutor, side by side", **gpu)
    where = (f"on ZeroGPU (a GPU is attached for up to {GPU_SECONDS} s per reply)" if space_hardware == ZERO_GPU
             else f"on `{space_hardware}`")
    review = (f"\n\nThe Blind review tab shows the training run's probe answers as A and B; votes are committed to the "
              f"private dataset `{votes_repo}` every minute, so they survive restarts. The Space needs a secret `HF_TOKEN`: "
              "a token with write access to that dataset.\n") if votes_repo else "\n"
    return (f"---\n{data.to_yaml()}\n---\n\n# {repo_id}: base vs fine-tuned\n\nEvery message goes to the base model "
            f"(`{base}`) and to the fine-tuned one ([{repo_id}](https://huggingface.co/{repo_id})) at once, from one model "
            f"in memory, streamed side by side, {where}. Built with marco; the example questions are its probe set, never "
            "trained on. `MARCO_ADAPTER` and `MARCO_MODEL` (Space variables) override the defaults." + review)


def prepare_space(output_dir: str, repo_id: str, out: str = None, requested_hardware: str = "auto",
                  votes_repo: str = None) -> str:
    """Write the Space folder and return its path. The default, OUTPUT_DIR/hub/space, sits beside hub.py's staged model
    (OUTPUT_DIR/hub/model), where the model upload does not look: the Space's marco/tiny weights stay out of the model repo."""
    report = RunReport.load(output_dir)
    base, space_hardware = report.base_model, hardware(report, requested_hardware)
    zero_gpu = space_hardware == ZERO_GPU
    out = out or os.path.join(output_dir, "hub", "space")
    if os.path.exists(out):
        if not written_by_marco(out) and (not os.path.isdir(out) or os.listdir(out)):
            raise MarcoError(f"{out} exists and is not a Space folder marco wrote: pass a new or empty --out")
        shutil.rmtree(out)
    weights = () if tiny.resolve(base) != base else ("model.safetensors",)  # built-in weights only for a built-in base
    shutil.copytree(os.path.join(ROOT, "marco"), os.path.join(out, "marco"),
                    ignore=shutil.ignore_patterns("__pycache__", *weights))
    os.makedirs(os.path.join(out, "data"))
    shutil.copy2(os.path.join(ROOT, "data", "probes.jsonl"), os.path.join(out, "data", "probes.jsonl"))
    if votes_repo:  # the comparisons only: never the run's review key or its local votes
        comparisons = os.path.join(output_dir, "comparisons")
        if not os.path.isdir(comparisons):
            raise MarcoError(f"--votes-repo: {output_dir} has no comparisons/ to review (train with the comparisons on)")
        shutil.copytree(comparisons, os.path.join(out, REVIEW_FOLDER, "comparisons"),
                        ignore=shutil.ignore_patterns("*.json", ".*"))
    files = {"app.py": app_source(repo_id, base, zero_gpu, votes_repo), "requirements.txt": requirements(zero_gpu),
             "README.md": card(repo_id, base, space_hardware, votes_repo)}
    for name, text in files.items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    return out
