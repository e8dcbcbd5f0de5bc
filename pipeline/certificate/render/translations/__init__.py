"""The labels and notes of the certificate preview, one JSON file per language (``en.json``,
``th.json``, ``vi.json``); every file has the keys and placeholders of ``en.json``."""
