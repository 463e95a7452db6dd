"""Collect anywhere, score here: the intake exported to form tools and their exports read back.

- `fhir`: an SDC Questionnaire (+ CodeSystems), QuestionnaireResponse both ways, RiskAssessment.
- `redcap`: a REDCap data dictionary, and REDCap raw CSV rows both ways.
- `xlsform`: an XLSForm (.xlsx) for ODK, KoboToolbox and CommCare, and their CSV exports read back.
- `skiplogic`: a question's `ask_when` in each tool's language ("asked unless definitely false").
- `inputs`: what `supplycheck batch` uses to recognise and read these exports.

Everything is generated from the loaded rule base; nothing is hand-mapped.
"""
