"""The exchange endpoint other nodes post to: `POST /exchange/v1/messages`.

No session and no account: who sends is proved by the message's signature against the trust
list (the envelope), so the endpoint is declared public to the authorisation policy and
carries no CSRF token. Answers are JSON: the signed receipt, or {"detail": ...} with a 4xx —
with a signed receipt of the refusal too when the sender's signature was verified.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import envelope, receiving

CONTENT_TYPE = "application/jose"


def _detail(status: int, message: str, code: str) -> JsonResponse:
    return JsonResponse({"detail": message, "code": code}, status=status)


@csrf_exempt
@require_POST
def messages(request) -> JsonResponse:
    """Accept one sealed message (the compact JWE as the request body)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    # Checked before the body is read, so that a huge post is not read into memory.
    if declared > settings.EXCHANGE_MAX_MESSAGE_BYTES or (
        len(request.body) > settings.EXCHANGE_MAX_MESSAGE_BYTES
    ):
        return _detail(413, _("The message is too large."), "too_large")
    try:
        token = request.body.decode("ascii").strip()
    except UnicodeDecodeError:
        return _detail(400, _("The message is not a JOSE encrypted message."), "malformed")
    try:
        acknowledged = receiving.receive(token, remote_address=request.META.get("REMOTE_ADDR"))
    except envelope.Refused as refused:
        answer = {"detail": refused.message, "code": refused.code}
        if refused.opened is not None:
            # A verified sender gets the refusal signed, as it gets an acceptance.
            answer["receipt"] = envelope.sign_receipt(refused.opened, "refused", code=refused.code)
        return JsonResponse(answer, status=refused.status)
    return JsonResponse(
        {
            "message_id": acknowledged.message_id,
            "status": acknowledged.status,
            "receipt": acknowledged.receipt,
        },
        status=201 if acknowledged.status == "accepted" else 200,
    )


@csrf_exempt
@require_POST
def plain_messages(request) -> JsonResponse:
    """The benchmark's reference: a message's claims as plain JSON, through the same
    application work without signature or encryption (receiving.receive_plain). Routed only
    when `settings.BENCH_FLOOR` is on."""
    try:
        acknowledged = receiving.receive_plain(request.body.decode())
    except UnicodeDecodeError:
        return _detail(400, _("The message's content is malformed."), "malformed")
    except envelope.Refused as refused:
        return _detail(refused.status, refused.message, refused.code)
    return JsonResponse(
        {"message_id": acknowledged.message_id, "status": acknowledged.status},
        status=201 if acknowledged.status == "accepted" else 200,
    )
