"""Answer: retrieved Passages -> a cited `Answer`.

`extractive` composes the default no-LLM answer from the best-supported sentences; `llm` asks an LLM
backend (`backends`: a registry of name -> factory, one module per backend) with the prompts of `prompts`
and falls back to the extractive answer on any failure; `citations` checks every [n] marker against its
passage; `followups` rewrites chat follow-ups into standalone questions. Nothing here knows Chroma or Gradio.
"""
