"""View models over a result, decided once for every renderer: the parent's summary (`summary`)
and the consultant's reasoning (`explain`). Renderers in `render/` only format them."""
