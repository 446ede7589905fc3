"""The scripted teacher: a local OpenAI-compatible server that plays a competent teacher for
teachenv's offline generated worlds, so the whole LLM path (HTTP, the ``openai`` client, retries,
JSON parsing) runs offline with no model — in tests and in the offline demo of the LLM path.

``brain`` decides the replies from teachenv's own prompts, ``server`` speaks the protocol and
injects faults, ``backend`` is the ``scripted`` text backend that runs both behind
``OpenAIBackend``. Nothing here is imported by ``import teachenv``.
"""
