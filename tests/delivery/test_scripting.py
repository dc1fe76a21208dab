"""The restricted script engine: process authors' expressions run without eval."""

from __future__ import annotations

import pytest

from joinedup.delivery.workflows import engine as workflow
from joinedup.delivery.workflows import scripting
from joinedup.delivery.workflows.scripting import ScriptError


def test_expressions_over_task_data():
    data = {"decision": "approve", "answers": {"copies": 2}, "fee": 25.0}
    assert scripting.evaluate('decision == "approve"', data)
    assert scripting.evaluate("answers['copies'] * fee", data) == 50.0
    assert scripting.evaluate("answers.get('missing', 3) + len([1, 2])", data) == 5
    assert scripting.evaluate("'a' if fee > 10 else 'b'", data) == "a"
    assert scripting.evaluate("decision.upper().startswith('APP')", data)


def test_scripts_assign_into_task_data():
    data = {"rounds": 1, "answers": {}}
    scripting.execute(
        "rounds = rounds + 1\nanswers['seen'] = True\nif rounds > 1:\n    big = 1", data
    )
    assert data == {"rounds": 2, "answers": {"seen": True}, "big": 1}


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('true')",
        "().__class__.__bases__[0].__subclasses__()",
        "decision.__class__",
        "open('/etc/passwd').read()",
        "[x for x in range(3)]",
        "[print(1) for x in [1]]",
        "{k: v for k, v in {}.items()}",
        "(lambda: 1)()",
        "eval('1')",
        "getattr(decision, 'upper')",
        "globals()",
        "(y := 1)",
        "f'{decision!r}'",
        "decision.format(1)",
        "9 ** 9 ** 9",
        "'x' * 10 ** 9",
    ],
)
def test_escapes_are_refused(source):
    with pytest.raises(ScriptError):
        scripting.evaluate(source, {"decision": "approve"})


@pytest.mark.parametrize(
    "source",
    [
        "import os",
        "for i in range(10):\n    pass",
        "while True:\n    pass",
        "def f():\n    pass",
        "x = [i for i in [1, 2]]",
        "_secret = 1",
        "del answers",
        "class A:\n    pass",
        "len = 1",
    ],
)
def test_statements_outside_the_language_are_refused(source):
    with pytest.raises(ScriptError):
        scripting.execute(source, {"answers": {}})


PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="https://joinedup.example/test">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script"/>
    <bpmn:scriptTask id="script"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_process_with_a_forbidden_script_cannot_be_deployed():
    with pytest.raises(workflow.ProcessError, match="not allowed"):
        workflow.compile_process(PROCESS.format(script="__import__('os').getcwd()"))
    spec, process_id = workflow.compile_process(PROCESS.format(script="x = 1"))
    assert process_id == "p" and spec["spec"]
