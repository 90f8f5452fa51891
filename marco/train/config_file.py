"""Read train.py's command line and `--config` YAML so that every mistake in them is one line naming the file, the
line and the key. TrlParser reads the YAML itself, but a syntax error or a missing file ends in a traceback there,
and a YAML value becomes an argparse default, which argparse never type-checks (`learning_rate: [1, 2]` reaches
the optimizer). So the file is checked here first, against the parser's own fields, then handed to TrlParser."""

import difflib
import sys

from marco.errors import MarcoError

SCALAR_TYPES = {int: "a whole number", float: "a number"}


def _key_lines(text: str) -> dict:
    """Line number of each top-level key (the safe loader gives values only)."""
    import yaml

    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: key.start_mark.line + 1 for key, _ in node.value}


def read(path: str) -> tuple[dict, dict]:
    """(values, line of each key) of a recipe; MarcoError for a missing file, bad YAML or anything but a mapping."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise MarcoError(f"--config {path}: {getattr(error, 'strerror', None) or error}") from None
    try:
        values, lines = yaml.safe_load(text), _key_lines(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise MarcoError(f"{where}: not valid YAML ({getattr(error, 'problem', None) or error})") from None
    if not isinstance(values, dict):
        raise MarcoError(f"{path}: a recipe is a YAML mapping of field: value, got {type(values).__name__}")
    return values, lines


def _value_error(action, value) -> str:
    """Why `value` cannot be this field's, or '' when it can (what argparse would check on the command line)."""
    kind = SCALAR_TYPES.get(action.type)
    if action.choices:
        if isinstance(value, (list, dict)) or (isinstance(value, str) and value not in map(str, action.choices)):
            return f"must be one of {', '.join(map(str, action.choices))}, got {value!r}"
        return ""
    if kind and (isinstance(value, (bool, list, dict)) or value is None and action.default is not None):
        return f"must be {kind}, got {value!r}"
    if kind and isinstance(value, str):
        try:
            action.type(value)
        except ValueError:
            return f"must be {kind}, got {value!r}"
    if getattr(action.type, "__name__", "") == "string_to_bool" and isinstance(value, (list, dict)):
        return f"must be true or false, got {value!r}"
    return ""


def check(parser, path: str) -> None:
    """Every key of the recipe is one of the parser's fields and every scalar value fits its type."""
    values, lines = read(path)
    actions = {a.dest: a for a in parser._actions}
    for key, value in values.items():
        where = f"{path}:{lines.get(key, '?')}"
        if key == "env":  # TrlParser's own section: environment variables
            continue
        if key not in actions:
            close = difflib.get_close_matches(key, actions, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else " (`python train.py --help` lists every field)"
            raise MarcoError(f"{where}: unknown key {key!r}{hint}")
        problem = _value_error(actions[key], value)
        if problem:
            raise MarcoError(f"{where}: {key} {problem}")


def one_line_errors(parser) -> None:
    """argparse prints its whole usage (300 lines here) before a command-line error: print the error alone."""

    def error(message: str):
        print(f"error: {message} (`python {parser.prog} --help` lists every field)", file=sys.stderr)
        sys.exit(2)

    parser.error = error


def parse(parser, argv: list) -> tuple:
    """The parsed dataclasses of `argv`; MarcoError (one line, naming the recipe) for any mistake in it."""
    argv = list(argv)
    path = None
    if "--config" in argv:
        index = argv.index("--config")
        if index + 1 == len(argv):
            raise MarcoError("--config needs a file: python train.py --config configs/marco_tiny.yaml")
        path = argv[index + 1]
        check(parser, path)
    one_line_errors(parser)
    try:
        return parser.parse_args_and_config(argv)
    except (ValueError, TypeError) as error:  # a dataclass's __post_init__ says what to fix
        raise MarcoError(f"{path + ': ' if path else ''}{str(error).splitlines()[0]}") from None
