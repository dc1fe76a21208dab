"""The names of a process's tasks in every language people read them.

A BPMN file names each task in English (`name`) and in French (`joinedup:nameFr`, an
attribute of the process's own namespace, which the engine ignores):

    <bpmn:definitions ... xmlns:joinedup="https://joinedup.example/bpmn">
      <bpmn:userTask id="check" name="Check the request" joinedup:nameFr="Vérifier la demande">

Queues, work items and their history show the task in the reader's language; the service
version loader refuses a process whose task lacks a language.
"""

from __future__ import annotations

from lxml import etree

from joinedup.federation.localization import language_gaps

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NAMESPACE = "https://joinedup.example/bpmn"
#: The task kinds people work (the engine's manual tasks).
PEOPLES_TASKS = ("userTask", "manualTask")
#: No entities, no network: the engine's own parser reads the same text just as safely.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

ParseError = etree.XMLSyntaxError


def task_names(bpmn: str) -> dict[str, dict[str, str]]:
    """{task id: {"en": its name, "fr": its French name}} of every task people work."""
    root = etree.fromstring(bpmn.encode("utf-8"), parser=_PARSER)
    found: dict[str, dict[str, str]] = {}
    for kind in PEOPLES_TASKS:
        for task in root.iter(f"{{{BPMN}}}{kind}"):
            names = {"en": task.get("name") or "", "fr": task.get(f"{{{NAMESPACE}}}nameFr") or ""}
            found[task.get("id") or ""] = names
    return found


def gaps(bpmn: str) -> list[tuple[str, list[str]]]:
    """(task id, the languages its name lacks) for each task not named in every language."""
    return [(str(path[0]), missing) for path, missing in language_gaps(task_names(bpmn))]
