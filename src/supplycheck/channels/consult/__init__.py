"""The lactation consultant's intake: `records` (score, rescore, export saved intakes), `views`
(how the terminal shows them) and `session` (the guided interview). The reasoning behind findings
is `present.explain`; privacy checks on notes are `supplycheck.privacy`."""
