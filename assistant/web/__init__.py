"""The web front end: the Gradio chat app's layout (`app`), its handlers (`handlers`), its HTML rendering
(`render`) and pure helpers (`util`).

It uses only the Assistant facade and the shared types; `ui.py` at the repository root is its entry point.
"""
