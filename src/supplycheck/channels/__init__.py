"""The three ways in: a parent's screening (`parent`), a consultant's guided intake (`consult`)
and batch scoring of files (`batch`). `ask` is the one prompt both interactive channels use."""
