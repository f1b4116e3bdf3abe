"""Answer: retrieved Passages -> a cited `Answer`.

`extractive` scores sentences and `compose` shapes the default no-LLM answer from them (referents kept, one
statement per side, dated digests); `sources` numbers citations by article; `llm` asks an LLM
backend (`backends`: a registry of name -> factory, one module per backend) with the prompts of `prompts`
and falls back to the extractive answer on any failure; `citations` checks every [n] marker against its
passage; `followups` rewrites chat follow-ups into standalone questions. Nothing here knows Chroma or Gradio.
"""
