"""View models over a result, decided once for every renderer: the parent's summary (`summary`),
the consultant's reasoning (`explain`) and referral letter (`letter`); the text helpers every
channel shares (`text`) and the formats a document can be saved in (`formats`). Renderers in
`render/` only format them."""
