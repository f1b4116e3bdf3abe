"""The chat page's own CSS and script (served inline: the page asks no other host for anything)."""

from __future__ import annotations

# Placing a citation's popover: fixed to the window, below its marker or above it when there is no room,
# so the chat box's scrolling edge does not clip it and later messages do not cover it. And a new question
# (Enter in the box, or Ask) scrolls the chat to its end: Gradio's autoscroll follows an answer only while
# the chat is already at its bottom, so a reader who had scrolled up got the new answer below the fold.
POPOVER_JS = """
<script>
(() => {
  const place = (cite) => {
    const pop = cite.querySelector(':scope > .nq-pop');
    if (!pop) return;
    const mark = cite.getBoundingClientRect();
    const width = Math.min(560, window.innerWidth - 16);
    pop.style.position = 'fixed';
    pop.style.width = width + 'px';
    pop.style.left = Math.max(8, Math.min(mark.left, window.innerWidth - width - 8)) + 'px';
    pop.style.right = 'auto';
    pop.style.zIndex = '1000';
    pop.style.maxHeight = Math.max(160, window.innerHeight - 16) + 'px';
    pop.style.overflowY = 'auto';
    const height = pop.offsetHeight || 240;
    const below = mark.bottom + 4;
    pop.style.top = (below + height <= window.innerHeight - 8 ? below : Math.max(8, mark.top - height - 4)) + 'px';
  };
  const handler = (event) => {
    const cite = event.target.closest && event.target.closest('.nq-cite');
    if (cite) requestAnimationFrame(() => place(cite));
  };
  document.addEventListener('mouseover', handler, true);
  document.addEventListener('focusin', handler, true);
  document.addEventListener('click', handler, true);
  const toEnd = () => {
    const log = document.querySelector('#nq-chat [role=log]');
    if (log) log.scrollTop = log.scrollHeight;
  };
  document.addEventListener('keydown', (event) => {
    const box = event.target.closest && event.target.closest('#nq-question');
    if (box && event.key === 'Enter' && !event.shiftKey && !event.isComposing) toEnd();
  }, true);
  document.addEventListener('click', (event) => {
    if (event.target.closest && event.target.closest('#nq-ask')) toEnd();
  }, true);
})();
</script>
"""

CSS = """
.nq-answer { position: relative; }
.nq-cite { display: inline; cursor: pointer; outline: none; }
.nq-marker { color: var(--color-accent); font-weight: 600; font-size: 0.85em; vertical-align: super; }
.nq-pop { display: none; position: absolute; left: 0; right: 0; z-index: 50; margin-top: 0.2rem;
  padding: 0.6rem 0.75rem; border: 1px solid var(--border-color-primary); border-radius: 8px;
  background: var(--background-fill-primary); box-shadow: 0 6px 24px rgba(0,0,0,0.18);
  font-size: 0.9em; line-height: 1.4; white-space: normal; }
.nq-cite:hover > .nq-pop, .nq-cite:focus > .nq-pop, .nq-cite:focus-within > .nq-pop { display: block; }
.nq-pop .nq-title, .nq-card .nq-title { display: block; font-weight: 600; text-align: left; }
.nq-meta { display: block; color: var(--body-text-color); font-size: 0.85em; margin: 0.15rem 0 0.3rem; }
.nq-snippet { display: block; }
.nq-snippet + .nq-snippet { margin-top: .4em; padding-top: .4em; border-top: 1px dashed #9ca3af; }
.nq-snippet mark { background: #fde68a; color: #1f2937; padding: 0 1px; }  /* dark on yellow, both themes */
.nq-unsupported { color: #b45309; font-weight: 600; font-size: 0.8em; vertical-align: super; }
.nq-unverified .nq-marker, .nq-meta .nq-unverified { color: #b45309; text-decoration: underline dotted; }
.nq-also { display: block; font-size: 0.85em; font-style: italic; margin-bottom: 0.3rem; }
.nq-notice { margin-top: 0.4rem; font-size: 0.85em; color: var(--body-text-color-subdued); }
.nq-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.55rem 0.7rem;
  margin-bottom: 0.5rem; background: var(--background-fill-secondary); font-size: 0.9em; }
.nq-card-head { display: flex; gap: 0.35rem; align-items: baseline; text-align: left; }
.nq-n { color: var(--color-accent); font-weight: 700; }
.nq-none { color: var(--body-text-color-subdued); padding: 0.4rem 0; }
.nq-stats th { text-align: left; padding-right: 1rem; white-space: nowrap; }
.nq-stats, .nq-stats tr, .nq-stats td, .nq-stats th { border: none !important; background: none !important; }
.nq-stats td, .nq-stats th { padding: 0.15rem 0.5rem 0.15rem 0; vertical-align: top; }
.nq-banner { padding: 0.6rem 0.8rem; border-radius: 8px; background: #fef3c7; color: #78350f; }
#nq-chat .message-wrap, #nq-chat .message { overflow: visible !important; }
#nq-chat { position: relative; z-index: 20; }  /* an open popover stays above the input row below it */
/* Gradio dims each message (opacity .8), which would trap an open popover under the messages after it */
#nq-chat .prose.chatbot.md:has(.nq-cite:hover, .nq-cite:focus-within) { opacity: 1; }
.nq-chips { font-size: 0.85em; margin: 0.2rem 0; }
.nq-chip { display: inline-block; margin: 0 0.3rem 0.2rem 0.2rem; padding: 0.05rem 0.5rem; border-radius: 999px;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary); }
"""
