"""The service-task handlers processes can call, by name, from a BPMN service task:

    <bpmn:serviceTask id="issue" name="Issue the certificate">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="issue_document" resultVariable="document">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="template" type="str" value="'birth-certificate'"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>

Parameter values are expressions of the restricted language over the task's data. Each
handler returns a small JSON object that the process finds in its result variable.
"""

from __future__ import annotations

import re

from .. import documents, timeline
from ..backends import registry
from ..payments import flows
from .engine import ProcessError, Run, handler

VERB = re.compile(r"^[a-z][a-z_]{1,40}$")


@handler("issue_document")
def issue_document(run: Run, template: str = "", **facts) -> dict:
    """Issue a signed document (certificate, letter) in the applicant's language."""
    document = documents.issue(run.application, template, extra_facts=facts)
    return {"id": str(document.pk), "template": document.template}


@handler("request_payment")
def request_payment(run: Run, amount=None, **_ignored) -> dict:
    """Ask the applicant to pay the fee (the offering's, unless an amount is given)."""
    payment = flows.request(run.application, amount=amount)
    return {"id": str(payment.pk), "amount": str(payment.amount), "status": payment.status}


@handler("emit_event")
def emit_event(run: Run, verb: str = "", **data) -> dict:
    """Announce a step of the process as `org.joinedup.application.<verb>`."""
    if not VERB.match(verb or ""):
        raise ProcessError(f"emit_event needs a verb in lower case, not {verb!r}")
    timeline.announce(run.application, verb, {"details": data})
    return {"event": timeline.EVENT_PREFIX + verb}


@handler("forward_to_agency")
def forward_to_agency(run: Run, **_ignored) -> dict:
    """Send the case to the delivering agency's own system through its back-end plugin."""
    forwarding = registry.forward(run.application)
    return {"forwarding": str(forwarding.pk) if forwarding else None}
