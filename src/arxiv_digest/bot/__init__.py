"""Composition root: settings, CLI, scheduler, delivery, chat adapters."""
