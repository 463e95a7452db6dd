"""The evaluator, shared by every channel: answers -> validated intake (`intake`) -> derived
values (`derive`) -> durable_rules (`engine`) -> one result (`evaluate`, `result`); and which
question comes next (`interview`). No UI library is imported here."""
