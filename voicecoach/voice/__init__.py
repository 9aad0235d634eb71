"""Adapters between the engine and the world: audio in, hearing, speaking, keyboard."""
