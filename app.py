"""python app.py   # the base and the fine-tuned tutor side by side in a browser: http://127.0.0.1:7860

Serves the built-in model with the adapter the README's main job writes (outputs/marco-tiny), offline.
`--adapter` takes another run's folder or a Hub id, `--model` another base; on a Space, MARCO_ADAPTER and MARCO_MODEL.
"""

from marco.serve.demo import main

if __name__ == "__main__":
    raise SystemExit(main())
