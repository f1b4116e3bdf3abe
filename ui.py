"""newsqa's chat window: `python ui.py [--index DIR] [--llm SPEC] [--port P] ...` (the same as `newsqa serve`).

A thin entry point; the app lives in assistant/web/app.py.
"""

from assistant.web.app import main

if __name__ == "__main__":
    main()
