"""The lactation consultant's intake: `records` (score, rescore, export saved intakes),
`explain` (the reasoning behind each finding), `privacy` (notes that might identify the client),
`views` (how the terminal shows them) and `session` (the guided interview)."""
