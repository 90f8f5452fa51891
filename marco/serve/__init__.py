"""marco.serve: the side-by-side demo (base and fine-tuned answers streamed in one page), on the local models or an
OpenAI-compatible engine."""
