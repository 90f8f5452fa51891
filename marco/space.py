"""A Hugging Face Space folder for a finished run: app.py (defaulting to the pushed adapter and its base), the marco
package, the probe questions and requirements.txt, with the README front matter Spaces read. Uploading is hub.py's job."""

import os
import shutil
import sys

from marco import tiny
from marco.errors import MarcoError
from marco.report import RunReport

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = "Written by `python -m marco space`"
NOT_IN_SPACE = {"gradio", "gradio_client", "playwright", "pytest", "tensorboard", "datasketch", "rensa"}  # sdk or dev only


def requirements() -> str:
    """requirements.txt's pins, less gradio (the Space's sdk_version installs it) and test and benchmark tools."""
    with open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8") as handle:
        lines = [line.split("#")[0].strip() for line in handle]
    return "".join(f"{line}\n" for line in lines if line and line.split("==")[0] not in NOT_IN_SPACE)


def app_source(repo_id: str, base: str) -> str:
    """The Space's app.py: marco's app, with this Space's adapter and base as its defaults."""
    return (f"# {MARKER}: marco's app with the pushed adapter and its base (Space variables MARCO_ADAPTER, MARCO_MODEL win).\n"
            "from marco.demo import main\n\n"
            f"raise SystemExit(main(adapter={repo_id!r}, model={base!r}))\n")


def written_by_marco(folder: str) -> bool:
    """Only a folder this module wrote is replaced: --out must never delete someone's work."""
    app = os.path.join(folder, "app.py")
    if not os.path.isfile(app):
        return False
    with open(app, encoding="utf-8") as handle:
        return MARKER in handle.read()


def card(repo_id: str, base: str) -> str:
    import gradio
    from huggingface_hub import SpaceCardData

    data = SpaceCardData(title=repo_id.split("/")[-1][:30], sdk="gradio", sdk_version=gradio.__version__,
                         python_version=f"{sys.version_info.major}.{sys.version_info.minor}", app_file="app.py",
                         models=[repo_id] + ([base] if tiny.resolve(base) == base else []), emoji="🇮🇹", colorFrom="green",
                         colorTo="red", pinned=False, short_description="The base and the fine-tuned tutor, side by side")
    return (f"---\n{data.to_yaml()}\n---\n\n# {repo_id}: base vs fine-tuned\n\nEvery message goes to the base model "
            f"(`{base}`) and to the fine-tuned one ([{repo_id}](https://huggingface.co/{repo_id})) at once, from one model "
            "in memory, streamed side by side. Built with marco; the example questions are its probe set, never "
            "trained on. `MARCO_ADAPTER` and `MARCO_MODEL` (Space variables) override the defaults.\n")


def prepare_space(output_dir: str, repo_id: str, out: str = None) -> str:
    """Write the Space folder and return its path. The default, OUTPUT_DIR/hub/space, sits beside hub.py's staged model
    (OUTPUT_DIR/hub/model), where the model upload does not look: the Space's marco/tiny weights stay out of the model repo."""
    base = RunReport.load(output_dir).base_model
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
    files = {"app.py": app_source(repo_id, base), "requirements.txt": requirements(), "README.md": card(repo_id, base)}
    for name, text in files.items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    return out
