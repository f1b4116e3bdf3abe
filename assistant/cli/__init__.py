"""The `newsqa` command line: click commands over the Assistant facade; text and JSON rendering.

`main` holds the group and the everyday commands, `admin` watch / eval / reindex-keywords, `util` the
error edge (domain errors -> click messages), `plain` the terminal rendering. Flags come from
`assistant.flags`, which also builds `ui.py`'s parser.
"""
