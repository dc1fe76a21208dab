from django.http import Http404

from joinedup.identity import policy


@policy.public
def _todo(request, *args, **kwargs):
    raise Http404


apply_start = my_applications = draft_page = draft_check = application_status = respond = _todo
document_pdf = sandbox_checkout = verify_document = queue_page = work_item_page = _todo
supervisor_page = _todo
