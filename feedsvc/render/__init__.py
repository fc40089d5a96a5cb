"""The render stage: snapshot → bytes: one builder per format, the item and render caches, and the directory documents (OPML, catalog)."""
