"""The similarity port's embedding models: in-process, an OpenAI-compatible endpoint, the choice."""
