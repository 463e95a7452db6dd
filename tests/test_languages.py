"""Languages: rule-base overlays (load, lint with real broken files, release check, the
translators' tool), the interface catalogue, choosing a language, numbers and dates, and
language-neutral codes."""

from __future__ import annotations

import ast
import inspect
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
import yaml

from supplycheck import evaluate, i18n, load_rulebase
from supplycheck.channels.answer_text import UnreadableAnswer, parse_number
from supplycheck.errors import RuleBaseError
from supplycheck.rulebase import locales
from supplycheck.rulebase.lint import lint
from pty_session import SUPPLYCHECK

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
SRC = ROOT / "src" / "supplycheck"
GOLDEN = ROOT / "examples" / "golden"
PYTHONPATH = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}


@pytest.fixture(scope="module")
def spanish():
    return load_rulebase(RULES, lang="es")


@pytest.fixture
def rules_copy(tmp_path):
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    return copy


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "NO_COLOR": "1", "COLUMNS": "120", **PYTHONPATH}
    return subprocess.run([SUPPLYCHECK, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


# ------------------------------------------------------------------ the shipped Spanish

def test_release_check_passes_for_shipped_languages():
    problems = locales.lint_locales(RULES, release=True)
    assert [str(p) for p in problems] == []
    assert locales.read_overlay(locales.overlay_path(RULES, "es")).shipped
    proc = cli("rules", "lint", "--release", "--rules", str(RULES))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "es: 0 missing, 0 outdated, 0 unknown, 0 other" in proc.stdout


def test_spanish_replaces_text_never_logic(rulebase, spanish):
    assert spanish.lang == "es" and spanish.content_hash == rulebase.content_hash
    q_en, q_es = rulebase.questions["baby_fever"], spanish.questions["baby_fever"]
    assert q_es.parent.startswith("¿Tu bebé tiene una temperatura de 38 °C")
    assert (q_es.id, q_es.type, q_es.values, q_es.min, q_es.max, q_es.unit) == \
           (q_en.id, q_en.type, q_en.values, q_en.min, q_en.max, q_en.unit)
    assert [r.id for r in spanish.rules] == [r.id for r in rulebase.rules]
    assert [str(r.condition) for r in spanish.rules] == [str(r.condition) for r in rulebase.rules]
    assert spanish.codes.urgencies["emergency"].parent.startswith("Ahora: llama")


@pytest.mark.parametrize("case", sorted(GOLDEN.glob("*.yaml"))[::5], ids=lambda p: p.stem)
def test_codes_are_the_same_in_every_language(rulebase, spanish, case):
    intake = yaml.safe_load(case.read_text())["intake"]
    en, es = evaluate(rulebase, intake).contract_dict(), evaluate(spanish, intake).contract_dict()
    for field in ("next_steps", "safety_net"):
        steps_en, steps_es = en.pop(field), es.pop(field)
        assert [s["code"] for s in steps_en] == [s["code"] for s in steps_es]
        assert all(a["text"] != b["text"] for a, b in zip(steps_en, steps_es))
    assert en == es


def test_every_text_of_the_rule_base_is_found(rulebase):
    keys = locales.source_texts(RULES)
    for q in rulebase.questions.values():
        assert f"question.{q.id}.parent" in keys and f"question.{q.id}.clinical" in keys
        for o in q.options:
            assert f"question.{q.id}.options.{o.value}.parent" in keys
    for table in ("red_flags", "factors", "perceived_signs", "next_steps", "urgencies", "referral_targets",
                  "supply_pictures"):
        for code in getattr(rulebase.codes, table):
            assert f"{table}.{getattr(code, 'value', code)}.parent" in keys, (table, code)
    assert "rulebase.disclaimer.parent" in keys
    assert all(f"rule.{r.id}.says.parent" in keys for r in rulebase.rules)


def test_a_new_table_of_codes_is_translatable_without_code_changes(tmp_path):
    raw = yaml.safe_load("safety_net:\n  call_if_floppy:\n    parent: Call now if floppy.\n    clinical: Hypotonia.\n")
    from supplycheck.rulebase.yamlsource import read_yaml
    path = tmp_path / "codes.yaml"
    path.write_text(yaml.safe_dump(raw))
    parsed, _ = read_yaml(path)
    assert [k for k, _, _ in locales.text_slots("codes.yaml", parsed)] == [
        "safety_net.call_if_floppy.parent", "safety_net.call_if_floppy.clinical"]


# ------------------------------------------------------------------ lint, with real broken files

def test_lint_reports_missing_outdated_unknown_and_numbers_with_lines(rules_copy):
    overlay = rules_copy / "locales" / "es.yaml"
    # the English changed since translation
    edit(rules_copy / "questions.yaml", 'parent: "Is your baby a twin, triplet or more?"',
         'parent: "Is your baby one of twins, triplets or more?"')
    # a number that differs from the English
    edit(overlay, "text: \"¿Tu bebé tiene una temperatura de 38 °C (100,4 °F) o más?\"",
         "text: \"¿Tu bebé tiene una temperatura de 39 °C (100,4 °F) o más?\"")
    # a placeholder-free text given one, and an entry for an id that does not exist
    text = overlay.read_text(encoding="utf-8")
    text = text.replace("texts:\n", "texts:\n  question.no_such_question.parent:\n    source: \"0123abcd\"\n"
                                    "    text: \"¿Nada?\"\n", 1)
    # a missing entry: the help of gestational_age_weeks is removed
    text = re.sub(r"  question\.gestational_age_weeks\.help:\n    source: \"\w+\"\n    text: \"[^\n]*\"\n", "", text)
    overlay.write_text(text, encoding="utf-8")

    problems = {p.message.split(":")[0] + ":" + p.message.split(":")[1]: p
                for p in locales.lint_locales(rules_copy)}
    name = str(overlay)
    outdated = problems["[es] outdated: question.multiple_birth.parent"]
    assert outdated.line == line_of(overlay, "question.multiple_birth.parent:") + 2
    assert "one of twins" in outdated.message and outdated.severity == "warning"
    numbers = problems["[es] question.baby_fever.parent: numbers differ"]
    assert numbers.severity == "error" and "English has 38, 100.4" in numbers.message
    assert numbers.line == line_of(overlay, "39 °C")
    unknown = problems["[es] unknown: question.no_such_question.parent is no longer in the rule base"]
    assert unknown.line == line_of(overlay, "question.no_such_question.parent:")
    missing = next(p for k, p in problems.items() if k.startswith("[es] missing: question.gestational_age_weeks.help"))
    assert missing.file.endswith("es.yaml") and "questions.yaml:" in missing.message

    proc = cli("rules", "lint", "--rules", str(rules_copy))
    assert proc.returncode == 1  # the number
    assert f"{name}:{numbers.line}: error RB805: [es] question.baby_fever.parent: numbers differ" in proc.stdout
    assert "es: 1 missing, 1 outdated, 1 unknown, 1 other" in proc.stdout


def test_release_check_fails_on_missing_or_outdated_shipped_text(rules_copy):
    edit(rules_copy / "codes.yaml", "No time pressure: support is there whenever you would like it.",
         "No time pressure: help is there whenever you would like it.")
    assert cli("rules", "lint", "--rules", str(rules_copy)).returncode == 0  # a warning while editing
    proc = cli("rules", "lint", "--release", "--rules", str(rules_copy))
    assert proc.returncode == 1
    assert "error RB804: [es] outdated: urgencies.none.parent" in proc.stdout
    # a draft language is not held to it
    edit(rules_copy / "locales" / "es.yaml", "status: shipped", "status: draft")
    assert cli("rules", "lint", "--release", "--rules", str(rules_copy)).returncode == 0


def test_outdated_translation_is_not_used(rules_copy):
    edit(rules_copy / "codes.yaml", "No time pressure: support is there whenever you would like it.",
         "No time pressure: help is there whenever you would like it.")
    es = load_rulebase(rules_copy, lang="es")
    assert es.codes.urgencies["none"].parent == "No time pressure: help is there whenever you would like it."
    assert es.codes.urgencies["routine"].parent.startswith("En una semana")


@pytest.mark.parametrize("broken, message", [
    ("language: es\nname: x\nstatus: shipped\ntexts:\n  a.b:\n    source: \"12\"\n    text: x\n",
     "source must be the 8-digit hash"),
    ("language: es\nstatus: maybe\ntexts: {}\n", "status: 'maybe' is not allowed"),
    ("language: fr\ntexts: {}\n", "language: must be 'es'"),
    ("language: es\ntexts:\n  a.b: [oops\n", "invalid YAML"),
])
def test_a_broken_overlay_is_refused_with_file_and_line(rules_copy, broken, message):
    overlay = rules_copy / "locales" / "es.yaml"
    overlay.write_text(broken, encoding="utf-8")
    with pytest.raises(RuleBaseError) as info:
        load_rulebase(rules_copy, lang="es")
    (problem,) = info.value.problems
    assert message in problem.message and problem.file.endswith("es.yaml") and problem.line
    assert load_rulebase(rules_copy).lang == "en"  # English never depends on a translation


def test_unknown_language_is_a_clear_error(rules_copy):
    with pytest.raises(RuleBaseError, match=r"no translation for language 'de'; available: en, es"):
        load_rulebase(rules_copy, lang="de")


def test_translate_update_and_accept(rules_copy):
    overlay = rules_copy / "locales" / "es.yaml"
    edit(rules_copy / "questions.yaml", 'parent: "Is your baby a twin, triplet or more?"',
         'parent: "Is your baby one of twins, triplets or more?"')
    edit(rules_copy / "questions.yaml", '          - {value: mild, parent: "A little yellow, and not getting worse", clinical: "Mild, stable"}',
         '          - {value: mild, parent: "A little yellow, and not getting worse", clinical: "Mild, stable"}\n'
         '          - {value: patchy, parent: "Yellow in patches", clinical: "Patchy"}')
    proc = cli("rules", "translate", "es", "--update", "--rules", str(rules_copy))
    assert proc.returncode == 0, proc.stderr
    assert "2 new, 0 removed, 0 accepted; still to translate: 2 missing, 1 outdated" in proc.stdout
    text = overlay.read_text(encoding="utf-8")
    assert "# en: Is your baby one of twins, triplets or more?\n  # OUTDATED" in text
    assert "question.jaundice.options.patchy.parent:" in text
    # the translator checks the text, then marks it as translating the new English
    proc = cli("rules", "translate", "es", "--accept", "question.multiple_birth.*", "--rules", str(rules_copy))
    assert "1 accepted; still to translate: 2 missing, 0 outdated" in proc.stdout
    kinds = [p.message.split(":")[0] for p in locales.lint_locales(rules_copy)]
    assert kinds == ["[es] missing", "[es] missing"]
    # a new language starts as an empty draft
    proc = cli("rules", "translate", "pt", "--update", "--rules", str(rules_copy))
    assert f"{len(locales.source_texts(rules_copy))} new" in proc.stdout
    pt = locales.read_overlay(rules_copy / "locales" / "pt.yaml")
    assert pt.status == "draft" and pt.name == "Português" and not pt.problems


# ------------------------------------------------------------------ the interface catalogue

def interface_strings() -> dict[str, str]:
    """Every literal passed to tr() or held in a Words(...) table in the source, with where."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None)
            if name == "tr" and node.args and isinstance(node.args[0], ast.Constant):
                found.setdefault(node.args[0].value, f"{path.name}:{node.lineno}")
            if name == "Words":
                for table in (d for d in ast.walk(node.args[0]) if isinstance(d, ast.Dict)):
                    for value in table.values:
                        if isinstance(value, ast.Constant) and isinstance(value.value, str):
                            found.setdefault(value.value, f"{path.name}:{value.lineno}")
    return found


def test_every_interface_string_has_a_spanish_entry(rulebase):
    catalogue = i18n.catalogue("es")
    wanted = interface_strings()
    assert len(wanted) > 100
    # strings made at run time: units, and codes written as words in the letter
    wanted.update({q.unit: "rules" for q in rulebase.questions.values() if q.unit})
    wanted.update({d.unit: "rules" for d in rulebase.derived if d.unit})
    wanted.update({u + "s": "parse_duration" for u in ("minute", "hour", "day", "week", "month", "year")})
    wanted.update({u.value.replace("_", " "): "letter" for u in rulebase.codes.urgencies})
    wanted.update({p.value.replace("_", " "): "letter" for p in rulebase.codes.supply_pictures})
    wanted.update({t.value.replace("_", " "): "intake panel" for t in rulebase.codes.referral_targets})
    wanted.update({f"{{n}} {noun}{s}": "intake status" for noun in ("red flag", "factor") for s in ("", "s")})
    missing = [f"{where}: {text!r}" for text, where in wanted.items() if text not in catalogue]
    assert missing == []
    for english, spanish in catalogue.items():
        assert sorted(re.findall(r"\{[^{}]*\}", english)) == sorted(re.findall(r"\{[^{}]*\}", spanish)), english


def test_parents_help_is_spanish():
    from supplycheck.cli import cli as root

    catalogue = i18n.catalogue("es")
    for command in (root, root.commands["screen"]):
        assert inspect.cleandoc(command.help) in catalogue
        for param in command.params:
            assert not param.help or param.help in catalogue, param.name
    env = {"PATH": "/usr/bin:/bin", "LANG": "es_ES.UTF-8", "COLUMNS": "100", **PYTHONPATH}
    shown = subprocess.run([SUPPLYCHECK, "screen", "--help"], capture_output=True, text=True, env=env).stdout
    assert shown.startswith("Uso: supplycheck screen") and "Opciones:" in shown
    assert "Responde unas preguntas y recibe un resumen" in shown and "Mostrar este mensaje y salir." in shown
    for args in (("screen", "--lang", "en", "--help"), ("--lang", "en", "screen", "--help")):
        english = subprocess.run([SUPPLYCHECK, *args], capture_output=True, text=True, env=env).stdout
        assert english.startswith("Usage: supplycheck screen"), args


# ------------------------------------------------------------------ choosing a language, numbers, dates

@pytest.mark.parametrize("explicit, env, chosen", [
    ("es", {"LANG": "en_GB.UTF-8"}, "es"),
    ("es-MX", {}, "es"),
    (None, {"LANG": "es_ES.UTF-8"}, "es"),
    (None, {"LC_MESSAGES": "es_AR.UTF-8", "LANG": "en_US.UTF-8"}, "es"),
    (None, {"LC_ALL": "C", "LANG": "es_ES.UTF-8"}, "en"),
    (None, {"LANG": "de_DE.UTF-8"}, "en"),
    (None, {}, "en"),
])
def test_choose_language(explicit, env, chosen):
    assert i18n.choose_language(explicit, ["en", "es"], env) == chosen


def test_explicit_unknown_language_is_an_error():
    with pytest.raises(i18n.LanguageError, match="'de' is not available; choose one of: en, es"):
        i18n.choose_language("de", ["en", "es"], {})


def test_numbers_are_read_and_written_as_the_language_does(spanish):
    weight = spanish.questions["current_weight_g"]
    age = spanish.questions["infant_age_days"]
    with i18n.using("es"):
        assert parse_number(weight, "3,3 kg") == 3300
        assert parse_number(weight, "3.400 g") == 3400
        assert parse_number(weight, "3400 gramos") == 3400
        assert parse_number(age, "2 semanas y 3 días") == 17
        assert parse_number(spanish.questions["hours_since_wet_diaper"], "2,5 horas") == 2.5
        today = date(2026, 12, 2)
        assert parse_number(age, "20/11/2026", today=today) == 12  # day first, as written in Spain
        assert parse_number(age, "2026-11-20", today=today) == 12
        with pytest.raises(UnreadableAnswer, match="Esa fecha no existe. Escríbela como día/mes/año"):
            parse_number(age, "31/02/2026", today=today)
        assert i18n.format_number(11.76) == "11,8"
        assert i18n.format_date(date(2026, 12, 2)) == "2 de diciembre de 2026"
    assert parse_number(weight, "3,400 g") == 3400 and parse_number(weight, "3.4 kg") == 3400
    with pytest.raises(UnreadableAnswer):  # English dates are year-month-day only: 02/12 is ambiguous
        parse_number(age, "02/12/2026", today=date(2026, 12, 2))
    assert i18n.format_number(11.76) == "11.8" and i18n.format_date(date(2026, 12, 2)) == "2 December 2026"


def test_spanish_summary_words(spanish):
    from supplycheck.present import summary
    from supplycheck.render.terminal import summary_renderable, to_text

    result = evaluate(spanish, {"infant_age_days": 20, "baby_fever": "yes", "birth_weight_g": 3300})
    with i18n.using("es"):
        text = to_text(summary_renderable(summary.build(spanish, result, "parent")))
    assert "Tu resumen de supplycheck" in text and "EMERGENCIA — AHORA" in text
    assert "→ sí" in text and "20 días" in text
    assert "supplycheck es una ayuda para detectar problemas" in text


def test_lint_of_english_rule_base_is_unchanged(rulebase):
    assert [p for p in lint(rulebase) if p.severity == "error"] == []


# ------------------------------------------------------------------ the letter, in the intake's language or another

def test_same_intake_letter_in_spanish_and_english(spanish, tmp_path):
    from supplycheck.channels.consult import records
    from supplycheck.storage.store import Store

    db = tmp_path / "clinic.db"
    with Store(db) as store:
        store.create("LC-0500", "intake", spanish)  # made in Spanish
        for field, value in {"infant_age_days": 12, "birth_weight_g": 3400, "current_weight_g": 3000,
                             "wet_diapers_per_day": 3, "latch_pain": "yes"}.items():
            store.set_answer("LC-0500", field, value)
        store.set_note("LC-0500", None, "Visita a domicilio, día 12.")
        records.refresh(store, spanish, "LC-0500")
        assert store.get("LC-0500").lang == "es"

    def export(*args: str) -> str:
        env = {"PATH": "/usr/bin:/bin", "SUPPLYCHECK_DB": str(db), "LANG": "C.UTF-8", **PYTHONPATH}
        proc = subprocess.run([SUPPLYCHECK, "intake", "export", "LC-0500", *args], capture_output=True,
                              text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    today_es = i18n.using("es")
    with today_es:
        fecha = i18n.format_date(date.today())
    md_es = export("--format", "md")  # the intake's own language, whatever LANG says
    assert md_es.startswith("# Carta de derivación: consulta de lactancia LC-0500")
    assert f"**Fecha:** {fecha}" in md_es and "## Urgencia: en el día" in md_es
    assert "Pérdida de peso \\>10% del peso al nacer" in md_es and "**11,8 %**" in md_es
    assert "## Notas de la consultora" in md_es and "Visita a domicilio, día 12." in md_es
    assert "| Pregunta | Respuesta | Nota |" in md_es and "| Peso al nacer (g) | 3400 g |" in md_es

    md_en = export("--format", "md", "--lang", "en")
    assert md_en.startswith("# Referral letter: lactation consultation LC-0500")
    assert f"**Date:** {i18n.format_date(date.today())}" in md_en and "## Urgency: same day" in md_en
    assert "Weight loss \\>10% of birth weight" in md_en and "**11.8 %**" in md_en
    assert "Visita a domicilio, día 12." in md_en  # the consultant's own words are never translated

    html_es = export("--format", "html")
    assert '<html lang="es">' in html_es and "Carta de derivación" in html_es and "Página" in html_es
    html_en = export("--format", "html", "--lang", "en")
    assert '<html lang="en">' in html_en and "Referral letter" in html_en

    json_es, json_en = (__import__("json").loads(export("--format", "json", *a)) for a in ((), ("--lang", "en")))
    assert json_es["urgency"] == json_en["urgency"] == "same_day"
    assert json_es["red_flags"] == json_en["red_flags"]
    assert [s["code"] for s in json_es["next_steps"]] == [s["code"] for s in json_en["next_steps"]]
    assert json_es["next_steps"][0]["text"] != json_en["next_steps"][0]["text"]
    with Store(db) as store:  # viewing it in another language is not a new result
        assert len(store.results("LC-0500")) == 1


@pytest.mark.parametrize("lang", i18n.languages())
def test_the_words_a_prompt_offers_are_understood(lang):
    """A number prompt says 'Or type: <not sure> · back': those words must work in every language."""
    from supplycheck.channels.answer_text import BACK_WORDS, HELP_WORDS, LABELS, is_not_sure

    with i18n.using(lang):
        for audience in ("parent", "clinical"):
            assert is_not_sure(LABELS[audience]["unsure"].lower()), (lang, audience)
        assert i18n.tr("back") in BACK_WORDS and "?" in HELP_WORDS
        assert is_not_sure(i18n.tr("not sure"))
