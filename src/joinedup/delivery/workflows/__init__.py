"""The process engine: BPMN 2.0 processes run by SpiffWorkflow, one instance per application.

Floors: `scripting` (the restricted language of scripts and conditions) ← `engine`
(deploying, starting and advancing instances, work items) ← `handlers` (the service tasks a
process can call, which reach documents, payments and back-ends). The BPMN files of the
demo services are data, in `delivery/processes/`, not code, and not here.
"""
