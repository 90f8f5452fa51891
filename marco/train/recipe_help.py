"""`python train.py --help` without importing torch, transformers and bitsandbytes (7 s here, for a page of text).

marco's own fields come from their dataclasses as always; TRL's SFTConfig and ModelConfig fields come from
recipe_help.json, the arguments the real parser builds from them, read off the pinned TRL and transformers. Where the
installed versions differ from the ones it was read off (or under torchrun, whose defaults differ), train.py builds the
real parser instead, so the help is never stale. Refresh it after changing the pins: `python -m marco.train.recipe_help`.
"""

import argparse
import copy
import json
import os
from importlib import metadata

SNAPSHOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recipe_help.json")
_KEPT = ("option_strings", "dest", "nargs", "const", "required", "metavar")  # what the help shows of an argument


def versions() -> dict:
    return {name: metadata.version(name) for name in ("trl", "transformers")}


def _as_stored(action, formatter) -> dict:
    """An argument as its help shows it: the help text expanded ("(default: ...)" included), choices as text."""
    shown = copy.copy(action)
    shown.help = formatter._get_help_string(action)
    return {**{key: getattr(action, key) for key in _KEPT}, "help": formatter._expand_help(shown),
            "choices": [str(c) for c in action.choices] if action.choices is not None else None}


def trl_arguments(parser) -> list[dict]:
    """The arguments of the real parser that TRL's dataclasses add (those after marco's own)."""
    from trl.scripts.utils import TrlParser

    from marco.train.config import marco_dataclasses

    own = {a.dest for a in TrlParser(marco_dataclasses())._actions}
    formatter = parser._get_formatter()
    return [_as_stored(a, formatter) for a in parser._actions if a.dest not in own]


def help_parser():
    """train.py's parser for printing its help, TRL's arguments from the snapshot; None where the snapshot does not
    describe this installation."""
    from trl.scripts.utils import TrlParser

    from marco.train.config import marco_dataclasses

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 or not os.path.exists(SNAPSHOT):
        return None
    with open(SNAPSHOT, encoding="utf-8") as handle:
        snapshot = json.load(handle)
    if snapshot["versions"] != versions():
        return None
    parser = TrlParser(marco_dataclasses())
    for argument in snapshot["arguments"]:
        argument = dict(argument)
        names, text = argument.pop("option_strings"), argument.pop("help")
        if argument["nargs"] == 0:  # a flag (--no_x): shown without a value
            del argument["nargs"], argument["choices"]
            argument["action"] = "store_const"
        parser.add_argument(*names, **argument, default=argparse.SUPPRESS, help=text.replace("%", "%%"))
    return parser


def main():
    from marco.train.config import make_parser

    with open(SNAPSHOT, "w", encoding="utf-8") as handle:
        json.dump({"versions": versions(), "arguments": trl_arguments(make_parser())}, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    print(f"wrote {SNAPSHOT}")


if __name__ == "__main__":
    main()
