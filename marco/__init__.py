"""marco: fine-tune a chat model into a good tutor without the failures of small fine-tunes."""

__version__ = "0.1.0"
