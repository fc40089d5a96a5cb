"""The content stage: files → articles → snapshot: the model, front matter, cleaning, slugs, file walking, the index, the store, its persistence and its reloader."""
