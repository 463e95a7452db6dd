"""Batch scoring of anonymised intake files: read, check privacy, score in parallel worker
processes (in input order), write atomically, summarise.

Every piece is a plain Python call; `supplycheck batch` only parses options and prints::

    from supplycheck import load_rulebase, read_intakes, score_records

    rulebase = load_rulebase()
    for result in score_records(rulebase, read_intakes("intakes.csv", rulebase), workers=2):
        print(result["id"], result["status"], result.get("urgency"))

`score_records` also takes plain mappings (one intake each). Each result is the contract's
result object (`Result.contract_dict()`), one per record, in input order.

Input (by extension): `.csv` (a header row, any column order, UTF-8 with or without BOM, lists
as `a;b`), `.jsonl` (one object a line; the lines are parsed in the worker processes), `.json`
(an array of objects), `.parquet` (read by row group; see arrow.py), `-` (JSONL on standard
input). A line that cannot be parsed becomes an error result naming the file and line, with the
record's id where it can still be read; a record with bad values becomes an error result naming
each field, the value and what is allowed. Ids used twice, records without an id and inputs
without any intake are warned about.
A file with identifying columns (name, e-mail, phone, address, postcode, date of birth, health
service or record numbers, free text) is refused unless those columns are dropped explicitly
(IdentifyingColumnsError), and so is a file with an identifying value in any cell that is read
(IdentifyingValuesError: column and lines, never the value; see supplycheck.privacy). A file
that cannot be read at all raises UnreadableInput. A refused run writes nothing.

Output (by extension): `.jsonl`, `.csv` or `.parquet` (see docs/batch-results.md for every
format's schema); with `with_source`, each result names its file and line.

CSV output columns (`CSV_COLUMNS`; lists are joined with `;`)::

    id, status, urgency, supply_picture,
    red_flags            codes, most urgent first
    primary_factors      factor codes of category primary
    secondary_factors    factor codes of category secondary
    factor_evidence      factor:field,field;...   (the input fields behind each factor)
    perceived_signs      codes
    referrals            to:urgency;...           (most urgent first)
    referral_reasons     to:reason,reason;...
    next_steps           codes (the wording is in the JSONL output)
    safety_net           codes of the signs to call now or get same-day help for (wording in JSONL)
    error_fields         fields of an error result (`record` for a line that cannot be parsed)
    error_messages       the messages, joined with " | " (a message may contain ';')
    rulebase.name, rulebase.version, rulebase.hash
    source.file, source.line   only with `with_source`

Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
carriage return) are prefixed with `'`.
"""

from .problems import IdentifyingColumnsError, IdentifyingValuesError, ParseProblem, UnreadableInput
from .readers import Record, read_intakes
from .run import score_files
from .scoring import Scorer
from .summary import Summary
from .workers import score_records
from .writers import CSV_COLUMNS, AtomicFile, OutputError, flatten

__all__ = [
    "CSV_COLUMNS", "AtomicFile", "IdentifyingColumnsError", "IdentifyingValuesError", "OutputError",
    "ParseProblem", "Record", "Scorer", "Summary", "UnreadableInput", "flatten",
    "read_intakes", "score_files", "score_records",
]
