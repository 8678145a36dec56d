"""`luthien eval`: labelled agent steps through a policy's live pipeline, measured as safety,
usefulness, ROC AUC and the safety an audit budget buys (docs/evaluation.md)."""
