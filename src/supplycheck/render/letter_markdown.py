"""The referral letter as Markdown: lays out a `LetterView` (present/letter.py); decides nothing."""

from __future__ import annotations

from ..i18n import tr
from ..present.letter import Item, LetterView
from ..present.text import escape_markdown as _md, words


def to_markdown(v: LetterView) -> str:
    L: list[str] = []
    add = L.append
    add(f"# {tr('Referral letter: lactation consultation')} {_md(v.ref)}")
    add("")
    add(f"**{tr('To:')}** {_md(v.recipient_text)}  ")
    add(f"**{tr('Date:')}** {_md(v.letter_date)}  ")
    add(f"**{tr('Reference code:')}** {_md(v.ref)} ({tr('intake of {date}').format(date=_md(v.intake_date))})  ")
    add(f"**{tr('Rule base:')}** {_md(v.rulebase)}")
    add("")
    if v.incomplete:
        add(f"> **Incomplete intake.** {_md(v.incomplete)}")
        add("")
    add(f"## {tr('Urgency:')} {_md(words(v.urgency))}")
    add("")
    add(_md(v.urgency_text))
    add("")
    if v.reasons:
        add(f"**{tr('Reason:')}** {_md('; '.join(v.reasons))}")
        add("")
    if v.for_recipient:
        why = tuple(r for r, _ in v.for_recipient.evidence)
        add(f"**{tr('Referral to you:')}** {_md(words(v.for_recipient.detail))}, {tr('for')} "
            f"{tr('the reasons above') if why == v.reasons else _md('; '.join(why))}.")
    else:
        add(f"**{tr('Referral to you:')}** {tr('none suggested by the rules; for your information.')}")
    add("")

    def evidence(item: Item) -> None:
        parts = [f"{_md(q)}: **{_md(a)}**" for q, a in item.listed]
        if item.again:
            parts.append(item.again)
        if parts:
            add(f"  {tr('Based on:')} {' · '.join(parts)}")

    def findings(title: str, items: tuple[Item, ...], kind: str) -> None:
        add(f"### {title}")
        add("")
        if not items:
            add(_md(v.empty.get(kind, "None found.")))
            add("")
            return
        for it in items:
            tail = f" *[{_md(', '.join(it.sources))}]*" if it.sources else ""
            add(f"- **{_md(it.text)}**{tail}  ")
            evidence(it)
        add("")

    add(f"## {tr('Findings')}")
    add("")
    findings(tr("Red flags"), v.red_flags, "red_flag")
    add(f"### {tr('Supply picture')}")
    add("")
    add(f"**{_md(words(v.supply.detail))}**: {_md(v.supply.text)}  ")
    evidence(v.supply)
    add("")
    findings(tr("Primary factors (maternal)"), v.factors_primary, "primary")
    findings(tr("Secondary factors (milk removal)"), v.factors_secondary, "secondary")
    if v.perceived:
        findings(tr("Perceived signs"), v.perceived, "perceived")
    add(f"### {tr('Referrals')}")
    add("")
    for r in v.referrals or (Item(tr("None.")),):
        add(f"- **{_md(r.text)}**" + (f": {_md(r.detail)}" if r.detail else ""))
    add("")
    for title, items in ((tr("Suggested next steps"), v.next_steps),
                         ("Safety net given to the family", v.safety_net),
                         (tr("Not yet known (could change the urgency)"), v.open_questions)):
        if items:
            L.extend([f"### {title}", "", *(f"- {_md(item)}" for item in items), ""])
    add("## " + tr("Consultant's notes"))
    add("")
    if v.intake_note:
        add(_md(v.intake_note))
        add("")
    for n in v.question_notes:
        add(f"- **{_md(n.text)}** ({_md(n.detail)}): {_md(n.evidence[0][0])}")
    if not v.intake_note and not v.question_notes:
        add(tr("None."))
    add("")
    add(f"## {tr('Signature')}")
    add("")
    add(f"{tr('Lactation consultant (name, credentials)')}: ______________________________  ")
    add(f"{tr('Signature')}: ______________________________  {tr('Date')}: ______________")
    add("")
    add(f"*{_md(v.disclaimer)}*")
    add("")
    add("---")
    add("")
    add(f"## {tr('Appendix: answers given')}")
    add("")
    add(f"| {tr('Question')} | {tr('Answer')} | {tr('Note')} |")
    add("|---|---|---|")
    section = None
    for row in v.answers:
        if row.section != section:
            section = row.section
            add(f"| **{_md(section)}** | | |")
        add(f"| {_md(row.question)} | {_md(row.answer)} | {_md(row.note)} |")
    add("")
    if v.sources:
        add(f"## {tr('Sources')}")
        add("")
        for tag, citation in v.sources:
            add(f"- **{_md(tag)}**: {_md(citation)}")
        add("")
    return "\n".join(L)
