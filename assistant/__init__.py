"""newsqa: question answering over news with cited answers."""
