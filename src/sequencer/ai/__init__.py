"""Text generators (a local model, any OpenAI-compatible server) and AI variables."""
