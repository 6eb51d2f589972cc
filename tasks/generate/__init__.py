"""Stage `generate`: completions with per-token log-probs and entropy for a prompt set."""
