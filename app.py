"""python app.py   # the base and the fine-tuned tutor side by side in a browser: http://127.0.0.1:7860

Serves the built-in model with the adapter the README's main job writes (outputs/marco-tiny), offline.
`--adapter` takes another run's folder or a Hub id, `--model` another base; on a Space, MARCO_ADAPTER and MARCO_MODEL.
"""

import argparse
import os
import sys


def main(argv: list = None) -> int:
    parser = argparse.ArgumentParser(prog="python app.py", description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", default=os.environ.get("MARCO_ADAPTER"),
                        help="adapter folder or Hub id (default: $MARCO_ADAPTER, else outputs/marco-tiny)")
    parser.add_argument("--model", default=os.environ.get("MARCO_MODEL"),
                        help="base model: Hub id, folder or marco-tiny (default: $MARCO_MODEL, else the adapter's "
                             "marco_report.json base_model)")
    parser.add_argument("--host", help="address to serve on (default: $GRADIO_SERVER_NAME, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $GRADIO_SERVER_PORT, else 7860)")
    args = parser.parse_args(argv)

    from marco import demo
    from marco.training import MarcoError

    try:
        chat = demo.load(args.adapter, args.model)
    except MarcoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    demo.build(chat).launch(server_name=args.host, server_port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
