"""End to end in Spanish: the installed `supplycheck` in a real pseudo-terminal with
LANG=es_ES.UTF-8, answered as a Spanish-speaking parent would type: "3 semanas", "3,3 kg",
"no lo sé", "volver", Ctrl-C and carrying on; the red-flag interrupt and the summary in Spanish.
And quitting in Spanish: save and quit, resume, quit and delete."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from screen_driver import CARRY_ON, CTRL_C, DOWN, ENTER, Pty, answers_after, plan, question_pattern
from supplycheck import load_rulebase
from supplycheck.rulebase.models import NONE_OF_THESE
from supplycheck.storage.store import Store

pytest.importorskip("pexpect")

RULES = Path(__file__).resolve().parents[1] / "rules"
SPANISH = {"LANG": "es_ES.UTF-8"}
CLEAR_LINE = "\x15"


@pytest.fixture(scope="module")
def spanish():
    return load_rulebase(RULES, lang="es")


def flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def spanish_steps(rulebase, scenario):
    """The plan, with "not sure" typed the Spanish way in number questions."""
    return [dataclasses.replace(s, keys=s.keys.replace("not sure", "no lo sé")) for s in plan(rulebase, scenario)]


def test_spanish_screening_with_back_and_ctrl_c_ends_in_a_spanish_summary(spanish, tmp_path):
    db = tmp_path / "s.db"
    scenario = {"emergency_signs_now": [NONE_OF_THESE], "infant_age_days": "20 días",
                "gestational_age_weeks": "39", "birth_weight_g": "3,3 kg",
                "baby_fever": "yes", "wet_diapers_per_day": "7", "feeding_method": "breast_only"}
    steps = spanish_steps(spanish, scenario)
    assert [s.field for s in steps[:2]] == ["emergency_signs_now", "infant_age_days"]
    assert [s.red_flags for s in steps if s.red_flags] == [("fever_young_infant",)]
    term = Pty(db=db, env=SPANISH, timeout=40)
    term.expect("no un diagnóstico")
    term.expect("Primero: ¿tu bebé está en peligro ahora mismo?")  # the quick emergency step comes first
    term.expect(question_pattern(steps[0]))
    term.expect("Ninguna de estas")
    term.send(steps[0].keys)
    term.expect(question_pattern(steps[1]))
    term.send("3 semanas" + ENTER)
    term.expect(r"\[3/")
    term.send("volver" + ENTER)  # back to the age, with what was typed
    term.expect(r"\[2/\d+(–\d+)?\][^\n]*¿Cuántos días")
    term.expect("21 días")
    term.send(CLEAR_LINE + "20 días" + ENTER)
    for i, step in enumerate(steps[2:], 2):
        if i == 5:  # a pause that is not wanted after all
            term.expect(question_pattern(step))
            term.send(CTRL_C)
            term.expect(r"¿Y ahora\?")  # the one Ctrl-C menu
            term.send(DOWN + ENTER)  # Seguir con las preguntas
        term.answer(step)
        if step.red_flags:
            term.expect("¿Seguir con las preguntas?")
            term.send(CARRY_ON)
    term.expect("¿Guardar este resumen en un archivo?")
    term.send(ENTER)  # No, gracias
    assert term.finish() == 0

    text = flat(term.plain)
    assert "⚠ EMERGENCIA — AHORA" in text and "Ahora: llama al número de emergencias de tu país" in text
    assert text.index("⚠ EMERGENCIA — AHORA") < text.index("Tu resumen de supplycheck")
    assert "Tu bebé tiene menos de 3 meses y una temperatura de 38 °C o más" in text
    assert "Porque has dicho" in text and "→ sí" in text and "→ 20 días" in text
    assert "Qué puedes hacer ahora" in text and "Sobre este resumen" in text
    assert "Cuándo pedir ayuda enseguida" in text  # the safety net, in Spanish
    assert "Llama ahora al número de emergencias de tu país si tu bebé vomita verde" in text
    assert "Not sure" not in text and "Your supplycheck summary" not in text
    assert "Get help at once" not in text and "Call your local emergency number" not in text
    with Store(db) as store:
        (record,) = store.list(kind="screen")
        assert record.lang == "es"
        assert store.answers(record.ref) == answers_after(steps)
        assert store.answers(record.ref)["birth_weight_g"] == 3300


def test_quitting_in_spanish_save_resume_then_delete(spanish, tmp_path):
    db = tmp_path / "s.db"
    steps = spanish_steps(spanish, {"emergency_signs_now": [NONE_OF_THESE], "infant_age_days": "10"})
    term = Pty(db=db, env=SPANISH, timeout=40)
    term.answer(steps[0])  # the emergency step: "Ninguna de estas"
    term.answer(steps[1])
    term.expect(question_pattern(steps[2]))
    term.send(CTRL_C)
    term.expect("Tus respuestas hasta ahora están guardadas en este ordenador")
    term.send(ENTER)  # Guardar y salir
    term.expect("Guardado. Para seguir más tarde, escribe:")
    term.expect("supplycheck screen --resume")
    assert term.finish() == 0

    again = Pty("screen", "--resume", db=db, env=SPANISH, timeout=40)
    again.expect(r"Hola de nuevo. Seguimos con tu cuestionario \(respuestas hasta ahora: 2\)")
    again.expect(question_pattern(steps[2]))
    again.send(CTRL_C)
    again.expect(r"¿Y ahora\?")  # the one Ctrl-C menu
    again.send(DOWN + DOWN + ENTER)  # Salir y borrar mis respuestas
    again.expect(r"¿Borrar todas tus respuestas\? No se puede deshacer")
    again.send(DOWN + ENTER)  # Sí, borrarlas (the cursor starts on "No, conservarlas")
    again.expect("Tus respuestas se han borrado. Cuídate.")
    assert again.finish() == 0
    with Store(db) as store:
        assert store.list(kind="screen") == []
